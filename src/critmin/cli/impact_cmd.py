"""``critmin impact``: what a disruption costs each ally's economy and which industries lose.

With ``--scenario`` it values one scenario file (central run, or ``--samples`` sampled
scenarios); with ``--commodity`` alone it values that commodity's USGS-style sweep
(probability-weighted); with ``--sweep`` it ranks every simulable commodity and compares the
ranking with USGS's 2025 assessment. The impact engine is imported when the command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from critmin.cli.output import Format, render, staged_folder
from critmin.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from critmin.impact.model import ImpactResult

INDUSTRY_TABLE = [
    "industry", "name", "output_change_usd", "va_change_usd", "direct_output_usd",
    "va_price_usd",
]  # fmt: skip
RANKING_TABLE = [
    "rank", "country", "commodity", "expected_gdp_change_usd", "worst_scenario",
    "worst_gdp_change_usd",
]  # fmt: skip


def _sources(result: ImpactResult) -> dict[str, Any]:
    from critmin.impact.bridges import BRIDGES_FILE

    return {
        "io_table": result.meta["io_table"],
        "io_source": result.meta["io_source"],
        "bridges": f"critmin/impact/data/{BRIDGES_FILE.name} (basis and grade per link)",
    }


def _industry_rows(result: ImpactResult, top: int | None) -> pd.DataFrame:
    frame = result.by_industry(top)
    frame.insert(2, "unit", "USD")
    return frame


def _write(out: Path, frames: dict[str, pd.DataFrame], meta: dict[str, Any]) -> None:
    with staged_folder(out) as staging:
        for name, frame in frames.items():
            frame.to_csv(staging / f"{name}.csv", index=False)
            frame.to_parquet(staging / f"{name}.parquet", index=False)
        (staging / "manifest.json").write_text(
            json.dumps(meta, indent=2, ensure_ascii=False, default=str) + "\n",
            encoding="utf-8",
        )


def impact_command(
    commodity: Annotated[
        str | None, typer.Option("--commodity", "-c", help="Commodity chain (e.g. rare_earths).")
    ] = None,
    scenario: Annotated[
        Path | None, typer.Option("--scenario", "-s", help="Scenario YAML file.")
    ] = None,
    country: Annotated[str, typer.Option("--country", help="ISO3 code of the ally.")] = "USA",
    sweep: Annotated[
        bool, typer.Option("--sweep", help="Rank every simulable commodity (USGS-style).")
    ] = False,
    samples: Annotated[
        int | None, typer.Option("--samples", "-n", help="Sampled scenarios (ensemble).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the ensemble.")] = 0,
    forward: Annotated[
        bool, typer.Option("--forward/--no-forward", help="Count losses of domestic buyers.")
    ] = True,
    top: Annotated[int, typer.Option("--top", help="Industries shown (0: all).")] = 25,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for CSV/Parquet + manifest.json.")
    ] = None,
) -> None:
    """Output and value-added losses by industry and in GDP (USD), probability-weighted."""
    if top < 0:
        raise InputError(f"--top {top}: must be 0 (all) or more")
    if sweep:
        _sweep(commodity, fmt, out, forward)
        return
    from critmin.impact import impacts, scenario_impacts
    from critmin.impact.market_inputs import central
    from critmin.impact.sweep import plan
    from critmin.simulation.scenario import load_scenario

    if scenario is not None:
        spec = load_scenario(scenario)
        if commodity is not None and commodity != spec.commodity:
            raise InputError(
                f"--commodity {commodity!r}: the scenario {scenario} is about {spec.commodity!r}"
            )
        result = scenario_impacts(spec, country, samples=samples, seed=seed, forward=forward)
        title = f"{spec.name}: impacts on {country}"
        what: dict[str, Any] = {"scenario": str(scenario), "commodity": spec.commodity}
    elif commodity is not None:
        if samples is not None:
            raise InputError("--samples: needs --scenario (the sweep's scenarios are discrete)")
        planned = plan(commodity)
        if planned.reason:
            raise InputError(f"--commodity {commodity!r}: cannot be simulated ({planned.reason})")
        inputs = central(planned.scenarios, planned.probabilities())
        result = impacts(inputs, country, forward=forward)
        title = f"{commodity}: probability-weighted impacts of one-year disruptions on {country}"
        what = {"commodity": commodity, "scenarios": planned.table.to_dict(orient="records")}
    else:
        raise InputError("give --scenario FILE, --commodity NAME or --sweep")
    gdp = result.gdp_change_usd
    meta = {
        **what,
        "country": country,
        "gdp_change_usd": gdp,
        "gdp_change_share_of_annual_gdp": gdp / result.meta["gdp_usd_per_year"],
        "units": result.meta["units"],
        "sources": _sources(result),
        "forward": forward,
        "unbridged_effects": len(result.unbridged),
        "notes": result.meta["notes"],
    }
    rows = _industry_rows(result, top or None)
    if out is not None:
        _write(
            out,
            {"industries": _industry_rows(result, None), "scenarios": result.summary()},
            meta,
        )
    shown = (
        meta
        if fmt is not Format.table
        else {
            "GDP change (USD)": f"{gdp:,.0f}",
            "units": meta["units"],
            "input-output table": meta["sources"]["io_source"]["title"],
        }
    )
    table_columns = INDUSTRY_TABLE if fmt is Format.table else None
    render(rows, fmt, title=title, meta=shown, table_columns=table_columns)


def _sweep(commodity: str | None, fmt: Format, out: Path | None, forward: bool) -> None:
    from rich.progress import Progress

    from critmin.impact import comparison, rank_correlation, run_sweep

    with Progress(transient=True, disable=fmt is not Format.table) as bar:
        task = bar.add_task("commodities", total=None)
        result = run_sweep(
            [commodity] if commodity else None,
            forward=forward,
            progress=lambda name: bar.update(task, description=name),
        )
    ranking = result.ranking()
    compared = comparison(ranking, "USA") if not ranking.empty else ranking
    rho, n = rank_correlation(compared)
    meta: dict[str, Any] = {
        "units": "USD per year of disruption (probability-weighted; negative = loss)",
        "simulated": sorted(ranking["commodity"].unique()) if not ranking.empty else [],
        "skipped": result.skipped.to_dict(orient="records"),
        "usgs_rank_correlation": {"spearman": rho, "commodities": n},
        "usgs_comparison": compared.to_dict(orient="records"),
    }
    if out is not None:
        _write(out, {"ranking": ranking, "scenarios": result.scenarios}, meta)
    if fmt is Format.table:
        meta = {
            "skipped": f"{len(result.skipped)} commodities cannot be simulated yet "
            "(--format json lists them with the reason)",
            "Spearman rank correlation with USGS 2025": f"{rho:.3f} over {n} commodities",
        }
    render(
        ranking,
        fmt,
        title="Probability-weighted GDP change from one-year trade disruptions",
        meta=meta,
        table_columns=RANKING_TABLE if fmt is Format.table else None,
    )
