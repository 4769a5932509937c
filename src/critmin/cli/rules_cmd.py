"""``critmin rules``: check export-control rule files, compile them, run the element chain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
import yaml

from critmin.cli.output import Format, render
from critmin.simulation.elements.chain import ZONES
from critmin.simulation.elements.model import MAGNET, Shocks, simulate_elements
from critmin.simulation.rules import compile_rules, load_rules, shipped_rules, to_events
from critmin.simulation.rules.compiler import to_scenario
from critmin.simulation.scenario import Horizon, parse_scenario

app = typer.Typer(
    help="Export-control rule files: check, compile to shocks, run.", no_args_is_help=True
)

FilesArg = Annotated[list[str], typer.Argument(help="Rule YAML files or shipped rule names.")]
StartOpt = Annotated[str, typer.Option("--start", help="First month, YYYY-MM.")]
MonthsOpt = Annotated[int, typer.Option("--months", help="Months simulated (1-240).")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def _horizon(start: str, months: int) -> Horizon:
    from pydantic import ValidationError

    from critmin.errors import InputError

    try:
        return Horizon(start=start, months=months)
    except ValidationError as exc:
        first = exc.errors()[0]
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise InputError(f"--{first['loc'][0]} {first.get('input')!r}: {reason}") from None


@app.command("list")
def list_rules(fmt: FormatOpt = Format.table) -> None:
    """Shipped rule files."""
    rows = []
    for name in shipped_rules():
        rule = load_rules(name)
        rows.append({"name": name, "title": rule.title, "measures": len(rule.measures)})
    render(pd.DataFrame(rows), fmt, title="shipped export-control rules")


@app.command("check")
def check(files: FilesArg, fmt: FormatOpt = Format.table) -> None:
    """Validate rule files and list their measures."""
    rows = []
    for f in files:
        rule = load_rules(f)
        for m in rule.measures:
            rows.append(
                {
                    "rule": rule.name,
                    "measure": m.id,
                    "kind": m.kind,
                    "elements": " ".join(m.elements),
                    "products": " ".join(m.products),
                    "destinations": m.destinations
                    if isinstance(m.destinations, str)
                    else " ".join(m.destinations),
                    "start": m.start.isoformat(),
                    "suspended": "; ".join(f"{w.start}..{w.end}" for w in m.suspended),
                    "expiry": m.expiry.isoformat() if m.expiry else "",
                    "approval_rate": m.licence.approval_rate if m.licence else None,
                    "processing_days": m.licence.processing_working_days if m.licence else None,
                    "leakage": m.leakage,
                    "de_minimis": m.de_minimis,
                }
            )
    render(pd.DataFrame(rows), fmt, title="rule files: valid")


@app.command("compile")
def compile_cmd(
    files: FilesArg,
    start: StartOpt = "2025-01",
    months: MonthsOpt = 24,
    engine_events: Annotated[
        bool, typer.Option("--events", help="Print the commodity engine's export_control events.")
    ] = False,
    scenario_out: Annotated[
        Path | None,
        typer.Option(
            "--scenario-out",
            help="Write a scenario YAML for `critmin simulate` (with --commodity).",
        ),
    ] = None,
    commodity: Annotated[
        str, typer.Option("--commodity", help="Commodity of the scenario written.")
    ] = "rare_earths",
    fmt: FormatOpt = Format.table,
) -> None:
    """Allowed share of China's base exports per flow and month (1 = unrestricted)."""
    _horizon(start, months)
    rules = [load_rules(f) for f in files]
    if scenario_out is not None:
        raw = to_scenario(rules, commodity, start, months)
        parse_scenario(raw, str(scenario_out))  # the engine's own validation
        scenario_out.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        typer.echo(f"wrote {scenario_out} ({len(raw['events'])} events)")
        return
    if engine_events:
        rows = []
        for rule in rules:
            for item in to_events(rule, start, months):
                ev = item["event"]
                rows.append({"commodity": item["commodity"], **{k: str(v) for k, v in ev.items()}})
        render(pd.DataFrame(rows), fmt, title="export_control events (scenario files)")
        return
    compiled = compile_rules(rules, start, months)
    rows = []
    for (el, stage), path in {
        **compiled.allowed,
        **{(k, "refining"): v for k, v in compiled.commodity.items()},
    }.items():
        row: dict[str, object] = {"element": el, "stage": stage}
        row.update({lab: round(float(v), 4) for lab, v in zip(compiled.labels, path, strict=True)})
        rows.append(row)
    render(
        pd.DataFrame(rows),
        fmt,
        title="allowed share of base exports",
        meta={"notes": "; ".join(compiled.notes)},
    )


@app.command("run")
def run(
    files: FilesArg,
    start: StartOpt = "2025-01",
    months: MonthsOpt = 12,
    fmt: FormatOpt = Format.table,
) -> None:
    """Run the element chain under the rules: supply and prices by element, stage and zone."""
    _horizon(start, months)
    rules = [load_rules(f) for f in files]
    compiled = compile_rules(rules, start, months)
    labels = compiled.labels
    res = simulate_elements(compiled.shocks(), labels=labels)
    free = simulate_elements(Shocks(months=months), labels=labels)
    rows = []
    for el in res.base.elements:
        for stage in ("oxide", "metal"):
            if stage == "metal" and el not in res.base.magnet_elements:
                continue
            e, s = res.base.elements.index(el), ("oxide", "metal").index(stage)
            for z, zone in enumerate(ZONES):
                got = res.supply(el, stage, zone).sum()
                base = free.supply(el, stage, zone).sum()
                rows.append(
                    _row(
                        el, stage, zone, got, base, res.price[:, e, s, z], res.price[:, e, s, 1 - z]
                    )
                )
    for z, zone in enumerate(ZONES):
        got, base = res.magnet_supply(zone).sum(), free.magnet_supply(zone).sum()
        rows.append(
            _row(
                MAGNET, MAGNET, zone, got, base, res.magnet_price[:, z], res.magnet_price[:, 1 - z]
            )
        )
    render(
        pd.DataFrame(rows),
        fmt,
        title=f"element chain under {', '.join(r.name for r in rules)}, {labels[0]}..{labels[-1]}",
        meta={
            "supply": "t received by users in the zone over the horizon",
            "notes": "; ".join(compiled.notes + res.base.notes),
        },
    )


def _row(
    el: str, stage: str, zone: str, got: float, base: float, p: np.ndarray, other: np.ndarray
) -> dict[str, object]:
    return {
        "element": el,
        "stage": stage,
        "zone": zone,
        "supply_t": got,
        "base_supply_t": base,
        "supply_change": got / base - 1.0 if base > 0 else float("nan"),
        "mean_price_index": float(p.mean()),
        "peak_price_index": float(p.max()),
        # spread against a zone whose price fell to (near) zero is not meaningful
        "peak_spread_vs_other_zone": (
            float((p / other).max()) if other.min() > 0.01 else float("nan")
        ),
    }
