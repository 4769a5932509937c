"""``critmin stockpile``: size the allies' stockpile and compare arrangements."""

from __future__ import annotations

import json
import platform
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
import typer
import xarray as xr

import critmin
from critmin.cli.output import Format, render, staged_folder
from critmin.data import tables
from critmin.errors import InputError
from critmin.optimisation.stockpile.api import run_stockpile
from critmin.optimisation.stockpile.arrangements import ArrangementReport
from critmin.optimisation.stockpile.config import EngineScenarios, StockpileConfig, load_config
from critmin.optimisation.stockpile.results import cvar

if TYPE_CHECKING:
    from critmin.optimisation.stockpile.decomposed import ConfidentialResult

ARRANGEMENTS = ("alone", "joint", "rule")


def _alone_tails(report: ArrangementReport) -> dict[str, Any]:
    """CVaR of the allies' summed second-stage cost and shortfall when each holds alone."""
    solutions = list(report.alone.values())
    p = solutions[0].probability.values
    alpha = solutions[0].cvar_alpha
    loss = sum(s.loss_usd.sum("ally").values for s in solutions)
    per_material = sum(
        s.unmet.sum(["month", "ally"]).transpose("scenario", "material") for s in solutions
    )
    assert isinstance(per_material, xr.DataArray)
    return {
        "cvar_loss": cvar(np.asarray(loss), p, alpha),
        "cvar_shortfall": {
            str(m): cvar(per_material.sel(material=m).values, p, alpha)
            for m in per_material["material"].values
        },
    }


def headline(report: ArrangementReport, arrangement: str) -> dict[str, Any]:
    """The JSON document of ``critmin stockpile`` (keys in docs/methods/stockpile.md)."""
    if arrangement == "alone":
        parts = {a: s.to_dict() for a, s in report.alone.items()}
        chosen: dict[str, Any] = {
            key: {a: part[key][a] for a, part in parts.items()}
            for key in (
                "holdings",
                "holdings_days",
                "expected_shortfall",
                "expected_shortfall_by_sector",
                "cost_by_ally",
            )
        }
        chosen["total_cost"] = sum(part["total_cost"] for part in parts.values())
        chosen["objective"] = report.alone_cost
        chosen.update(_alone_tails(report))
    elif arrangement == "rule":
        if report.rule is None:
            raise InputError("--arrangement rule: the rule of thumb was not solved")
        chosen = report.rule.to_dict()
    else:
        chosen = report.joint.to_dict()
    comparison = report.to_dict()
    return {
        "arrangement": arrangement,
        **{k: chosen[k] for k in ("holdings", "holdings_days", "total_cost", "objective")},
        "cost_by_ally": chosen["cost_by_ally"],
        "expected_shortfall": chosen["expected_shortfall"],
        "expected_shortfall_by_sector": chosen["expected_shortfall_by_sector"],
        "cvar_shortfall": chosen["cvar_shortfall"],
        "cvar_loss": chosen["cvar_loss"],
        "arrangements": {
            "alone": report.alone_cost,
            "joint": report.joint.objective_usd,
            "rule": None if report.rule is None else report.rule.objective_usd,
        },
        **{
            k: comparison[k]
            for k in (
                "value_of_cooperation",
                "split_proportional",
                "split_shapley",
                "value_of_stochastic_solution",
                "expected_value_of_perfect_information",
                "cooperation_drivers",
                "notes",
            )
        },
    }


def _k_values(text: str, spec: StockpileConfig) -> list[int]:
    """``--k-sweep`` values: integers >= 1, ``all`` = every sample of the engine source."""
    if not isinstance(spec.scenarios, EngineScenarios):
        raise InputError("--k-sweep: the config's scenarios are explicit; K applies to engine ones")
    values = []
    for part in text.split(","):
        part = part.strip()
        if part == "all":
            values.append(spec.scenarios.samples)
            continue
        try:
            value = int(part)
        except ValueError:
            raise InputError(f"--k-sweep {text!r}: {part!r} is not an integer or 'all'") from None
        if value < 1:
            raise InputError(f"--k-sweep {text!r}: {value} < 1; at least one scenario is kept")
        values.append(value)
    return values


def manifest(spec: StockpileConfig) -> dict[str, Any]:
    """What reproduces the run: the resolved config, code, solver and data versions."""
    return {
        "config": spec.model_dump(mode="json"),
        "code_version": critmin.__version__,
        "python": platform.python_version(),
        "linopy": version("linopy"),
        "highspy": version("highspy"),
        "data_version": str(tables.manifest().get("data_version", "unknown")),
    }


def _frame(document: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for ally, by_material in document["holdings"].items():
        for material, tonnes in by_material.items():
            rows.append(
                {
                    "ally": ally,
                    "material": material,
                    "holding_t": tonnes,
                    "holding_days": document["holdings_days"][ally][material],
                    "expected_shortfall_t": document["expected_shortfall"][ally][material],
                }
            )
    return pd.DataFrame(rows)


def _write(document: dict[str, Any], out: Path) -> None:
    """Write ``stockpile.json`` and ``holdings.csv`` into ``out`` all at once."""
    with staged_folder(out) as staging:
        (staging / "stockpile.json").write_text(
            json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        _frame(document).to_csv(staging / "holdings.csv", index=False)


def _confidential(spec: StockpileConfig, k: int | None, fmt: Format, out: Path | None) -> None:
    """``--confidential``: the joint arrangement solved with one process per ally; with
    ``--out`` the party files and each ally's own result file are kept in ``out/parties``."""
    from critmin.optimisation.stockpile.decomposed import decomposed_solve
    from critmin.optimisation.stockpile.scenarios import scenarios_from_config

    scenarios = scenarios_from_config(spec, k)

    def document(result: ConfidentialResult) -> dict[str, Any]:
        return {
            "name": spec.name,
            "mode": "confidential",
            "manifest": manifest(spec),
            **result.to_dict(),
            "scenarios": {"source": scenarios.source, "kept": scenarios.n_scenarios},
            "units": "costs USD over the horizon; transfers t over the horizon, summed over "
            "scenarios",
        }

    if out is not None:
        with staged_folder(out) as staging:
            result = decomposed_solve(spec, scenarios, folder=staging / "parties")
            doc = document(result)
            doc["result_files"] = {
                a: str(out / "parties" / Path(p).name) for a, p in doc["result_files"].items()
            }
            (staging / "confidential.json").write_text(
                json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
    else:
        result = decomposed_solve(spec, scenarios)
        doc = document(result)
    if fmt is Format.json:
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    rows = pd.DataFrame(
        [
            {
                "ally": a,
                "alone_cost_usd": result.alone_cost_by_ally_usd[a],
                "joint_cost_usd": result.cost_by_ally_usd[a],
            }
            for a in result.cost_by_ally_usd
        ]
    )
    meta = {
        "joint cost (USD)": f"{result.cost_usd:,.0f}",
        "lower bound (USD)": f"{result.lower_bound_usd:,.0f}",
        "certified gap": f"{result.gap:.2e}"
        + ("" if result.converged else " (NOT converged: iteration limit)"),
        "value of cooperation (USD)": f"{result.value_of_cooperation_usd:,.0f}",
        "proposals": str(result.iterations),
        "messages": str(len(result.messages)),
        "seconds": f"{result.seconds:.1f}",
    }
    render(rows, fmt, title=f"{spec.name}: confidential joint arrangement", meta=meta)


def stockpile_command(
    config: Annotated[Path, typer.Argument(help="Stockpile config YAML file.")],
    arrangement: Annotated[
        str | None, typer.Option("--arrangement", "-a", help="alone, joint or rule.")
    ] = None,
    cvar_alpha: Annotated[
        float | None, typer.Option("--cvar-alpha", help="CVaR level, e.g. 0.95.")
    ] = None,
    risk_weight: Annotated[
        float | None, typer.Option("--risk-weight", help="Weight of the CVaR term (0 = neutral).")
    ] = None,
    k: Annotated[
        int | None, typer.Option("--k", help="Representative scenarios kept (engine source).")
    ] = None,
    k_sweep: Annotated[
        str | None,
        typer.Option(
            "--k-sweep",
            help="Effect of K: comma-separated K values (and/or 'all'), e.g. 5,10,20,all.",
        ),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for stockpile.json + holdings.csv.")
    ] = None,
    confidential: Annotated[
        bool,
        typer.Option(
            "--confidential",
            help="Joint arrangement with each ally's data in its own process (section 4).",
        ),
    ] = False,
    through_market: Annotated[
        bool,
        typer.Option(
            "--through-market",
            help="Run the joint plan's releases through the market (engine scenarios).",
        ),
    ] = False,
    market_consistent: Annotated[
        bool,
        typer.Option(
            "--market-consistent",
            help="Calibrate what a release covers to the market and iterate the plan until "
            "the LP's saving is the market's (section 2.5; implies --through-market).",
        ),
    ] = False,
    market_tolerance: Annotated[
        float,
        typer.Option(
            "--market-tolerance",
            help="--market-consistent stops when |LP - market saving| <= this x LP saving.",
        ),
    ] = 0.01,
    market_iterations: Annotated[
        int,
        typer.Option("--market-iterations", help="--market-consistent: at most this many passes."),
    ] = 12,
) -> None:
    """Size the allies' stockpile of CONFIG and compare alone, joint and the rule of thumb."""
    spec = load_config(config)
    chosen = arrangement or spec.arrangement
    if chosen not in ARRANGEMENTS:
        raise InputError(f"--arrangement {chosen!r}: valid values are {', '.join(ARRANGEMENTS)}")
    risk: dict[str, float] = {}
    if cvar_alpha is not None:
        if not 0.0 < cvar_alpha < 1.0:
            raise InputError(f"--cvar-alpha {cvar_alpha}: must lie strictly between 0 and 1")
        risk["cvar_alpha"] = cvar_alpha
    if risk_weight is not None:
        if risk_weight < 0:
            raise InputError(f"--risk-weight {risk_weight}: must be >= 0")
        risk["risk_weight"] = risk_weight
    if k is not None and k < 1:
        raise InputError(f"--k {k}: at least one scenario must be kept")
    if risk:
        spec = spec.model_copy(update={"risk": spec.risk.model_copy(update=risk)})
    ks = _k_values(k_sweep, spec) if k_sweep is not None else None
    if not 0.0 < market_tolerance < 1.0:
        raise InputError(
            f"--market-tolerance {market_tolerance}: a share of the LP's saving strictly "
            "between 0 and 1"
        )
    if market_iterations < 1:
        raise InputError(f"--market-iterations {market_iterations}: at least one pass")
    if confidential:
        if ks is not None:
            raise InputError("--k-sweep: not available with --confidential")
        if market_consistent:
            raise InputError(
                "--market-consistent: not available with --confidential; the release effect "
                "is measured on the joint plan, which needs every ally's data in one process "
                "(docs/methods/stockpile.md, section 2.5)"
            )
        _confidential(spec, k, fmt, out)
        return
    run = run_stockpile(
        spec,
        k=k,
        k_sweep=ks,
        through_market=through_market,
        consistent=market_consistent,
        tolerance=market_tolerance,
        max_iterations=market_iterations,
    )
    scenarios, report = run.scenarios, run.report
    document = {
        "name": spec.name,
        "manifest": manifest(spec),
        **headline(report, chosen),
        "scenarios": {"source": scenarios.source, "kept": scenarios.n_scenarios},
        "risk": spec.risk.model_dump(),
        "units": "holdings and shortfalls in t of the stage unit; costs USD over the horizon",
    }
    if run.k_sensitivity is not None:
        document["k_sensitivity"] = run.k_sensitivity.to_dict(orient="records")
    if run.market_check is not None:
        document["through_market"] = run.market_check.to_dict()
    if run.fixed_point is not None:
        document["market_consistent"] = run.fixed_point.to_dict()
    if out is not None:
        _write(document, out)
    if fmt is Format.json:
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    meta = {
        "total cost (USD)": f"{document['total_cost']:,.0f}",
        "alone / joint / rule (USD)": " / ".join(
            "-" if v is None else f"{v:,.0f}" for v in document["arrangements"].values()
        ),
        "value of cooperation (USD)": f"{document['value_of_cooperation']:,.0f}",
        "value of the stochastic solution (USD)": (
            f"{document['value_of_stochastic_solution']:,.0f}"
        ),
        "expected value of perfect information (USD)": (
            f"{document['expected_value_of_perfect_information']:,.0f}"
        ),
        "scenarios": f"{scenarios.n_scenarios} ({scenarios.source})",
        "notes": "; ".join(document["notes"]),
    }
    if run.market_check is not None:
        check = run.market_check
        meta["saving: LP / market (USD)"] = (
            f"{check.lp_saving_usd:,.0f} / {check.realised_saving_usd:,.0f}"
        )
    if run.fixed_point is not None:
        fixed = run.fixed_point
        meta["market-consistent"] = (
            f"{'converged' if fixed.converged else 'NOT converged'} in pass {fixed.chosen} of "
            f"{len(fixed.iterations)} (gap {fixed.iterations[fixed.chosen - 1].gap:.2%}, "
            f"tolerance {fixed.tolerance:.2%})"
        )
    render(_frame(document), fmt, title=f"{spec.name}: {chosen} arrangement", meta=meta)
    if run.k_sensitivity is not None and fmt is Format.table:
        render(run.k_sensitivity, fmt, title="effect of K (joint and alone optima, USD; t)")
