"""``critmin portfolio``: choose projects and instruments within budgets and the window."""

from __future__ import annotations

import json
import platform
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import typer

import critmin
from critmin.cli.output import Format, render, staged_folder
from critmin.errors import InputError
from critmin.optimisation.portfolio import load_config, solve_portfolio
from critmin.optimisation.portfolio.config import Objective, PortfolioConfig
from critmin.optimisation.portfolio.results import PortfolioResult

OBJECTIVES = ("shortfall", "china_share", "hhi")
TABLE_COLUMNS = ["project_id", "country", "stage", "party", "instrument", "amount_usd",
                 "fiscal_cost_usd", "online_year", "additional_t_per_year"]  # fmt: skip


def manifest(config: PortfolioConfig) -> dict[str, Any]:
    """What reproduces the run: the resolved config, code, solver and data versions."""
    return {
        "config": config.model_dump(mode="json"),
        "code_version": critmin.__version__,
        "python": platform.python_version(),
        "linopy": version("linopy"),
        "highspy": version("highspy"),
    }


def document(result: PortfolioResult) -> dict[str, Any]:
    """The JSON document (keys in docs/methods/portfolio.md)."""
    return {**result.to_dict(), "manifest": manifest(result.config)}


def _write(result: PortfolioResult, doc: dict[str, Any], out: Path) -> None:
    with staged_folder(out) as staging:
        (staging / "portfolio.json").write_text(
            json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
        )
        result.selected.to_csv(staging / "selected.csv", index=False)
        result.frontier.to_csv(staging / "frontier.csv", index=False)
        result.metrics.to_csv(staging / "metrics.csv", index=False)
        result.pipeline.drop(columns=["basket"], errors="ignore").to_csv(
            staging / "pipeline.csv", index=False
        )


def portfolio_command(
    config: Annotated[Path, typer.Argument(help="Portfolio config YAML file.")],
    objective: Annotated[
        str | None, typer.Option("--objective", help="shortfall, china_share or hhi.")
    ] = None,
    projects: Annotated[
        Path | None, typer.Option("--projects", help="Extra projects, CSV or YAML.")
    ] = None,
    points: Annotated[
        int | None, typer.Option("--points", help="Budget levels on the frontier.")
    ] = None,
    engine: Annotated[
        bool,
        typer.Option("--engine/--no-engine",
                     help="Re-simulate the portfolio and the no-support baseline (market model)."),
    ] = True,
    samples: Annotated[
        int | None, typer.Option("--samples", help="Sampled scenarios of the engine check.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for portfolio.json + CSVs.")
    ] = None,
) -> None:
    """Choose projects and instruments of CONFIG; frontier and marginal value of a dollar."""
    spec = load_config(config)
    update: dict[str, Any] = {}
    if objective is not None:
        if objective not in OBJECTIVES:
            raise InputError(f"--objective {objective!r}: valid values are {', '.join(OBJECTIVES)}")
        update["objective"] = objective
    if projects is not None:
        update["extra_projects"] = projects
    if points is not None and not 0 <= points <= 100:
        raise InputError(f"--points {points}: must lie between 0 and 100")
    if samples is not None:
        if not 2 <= samples <= 5000:
            raise InputError(f"--samples {samples}: must lie between 2 and 5000")
        current = spec.engine.model_dump() if spec.engine is not None else {}
        update["engine"] = {**current, "samples": samples}
    if update:
        spec = PortfolioConfig.model_validate({**spec.model_dump(), **update})
    result = solve_portfolio(spec, points=points, engine=engine)
    doc = document(result)
    if out is not None:
        _write(result, doc, out)
    if fmt is Format.json:
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False))
        return
    obj = result.objective
    kind: Objective = spec.objective
    meta = {
        "objective": f"{kind}: {obj['value']:.6g} (baseline {obj['baseline']:.6g}) - {obj['unit']}",
        "scored cost / budget (USD)": f"{obj['fiscal_cost_usd']:,.0f} / {obj['budget_usd']:,.0f}",
        "optimality gap": f"{obj['optimality_gap']:.2g} (HiGHS, target {spec.mip_rel_gap})",
        "marginal value of the last dollar": (
            f"{result.marginal_value['per_usd']:.4g} {result.marginal_value['unit']} "
            f"({result.marginal_value['method']})"
        ),
        "frontier points": str(max(len(result.frontier) - 1, 0)),
        **_engine_lines(result.engine),
        "assumptions": "; ".join(result.notes),
    }
    render(result.selected, fmt, title=f"{spec.name}: selected projects", meta=meta,
           table_columns=TABLE_COLUMNS)  # fmt: skip


def _engine_lines(check: dict[str, Any]) -> dict[str, str]:
    """Headline lines of the engine check (with- and without-support runs)."""
    if check.get("status") != "ok":
        return {"engine check": f"{check.get('status')}: {check.get('reason', '')}".strip()}
    value = check["allied_shortfall_value_usd"]
    avoided = check["shortfall_avoided_usd"]

    def band(b: dict[str, float], scale: float = 1e6, unit: str = " M") -> str:
        return (f"{b['mean'] / scale:,.1f}{unit} [{b['low'] / scale:,.1f}, "
                f"{b['high'] / scale:,.1f}]")  # fmt: skip

    lines = {
        "engine: allied shortfall, USD (mean and interval)": (
            f"without support {band(value['without_support'])}; "
            f"with support {band(value['with_support'])} "
            f"({check['samples']} scenarios, {avoided['level']:.0%})"
        ),
        "engine: shortfall avoided by support, USD": band(avoided),
    }
    shares = [
        f"{row['stage']} {row['without_support']['mean']:.3f} -> {row['with_support']['mean']:.3f}"
        for row in check["china_share"]
    ]
    lines["engine: China share of output (without -> with)"] = "; ".join(shares)
    return lines
