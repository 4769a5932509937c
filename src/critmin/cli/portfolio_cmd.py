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
                 "fiscal_cost_usd", "online_year", "expected_t_per_year"]  # fmt: skip


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
    if update:
        spec = PortfolioConfig.model_validate({**spec.model_dump(), **update})
    result = solve_portfolio(spec, points=points)
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
        "assumptions": "; ".join(result.notes),
    }
    render(result.selected, fmt, title=f"{spec.name}: selected projects", meta=meta,
           table_columns=TABLE_COLUMNS)  # fmt: skip
