"""``critmin simulate``: run a disruption scenario, or an ensemble of sampled ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from critmin.cli.output import Format, render, staged_folder
from critmin.errors import InputError
from critmin.market.result import MarketResult
from critmin.simulation.runner import ENGINES, run_ensemble, simulate
from critmin.simulation.scenario import load_scenario

TABLE_HIDDEN = ("shortfall_p5_t", "shortfall_p50_t", "peak_price_usd_per_t", "unit")


def _write(result: MarketResult, out: Path) -> None:
    """Write results and ``manifest.json`` into ``out`` all at once (temp folder, then move)."""
    with staged_folder(out) as staging:
        summary = result.summary()
        summary.to_csv(staging / "summary.csv", index=False)
        summary.to_parquet(staging / "summary.parquet", index=False)
        result.country_frame().to_csv(staging / "countries.csv", index=False)
        if result.kind == "central":
            frame = result.timeseries_frame()
            frame.to_parquet(staging / "timeseries.parquet", index=False)
            frame.to_csv(staging / "timeseries.csv", index=False)
        else:
            per = result.data.drop_vars("unit").to_dataframe().reset_index()
            per.to_parquet(staging / "scenarios.parquet", index=False)
        (staging / "manifest.json").write_text(
            json.dumps(result.manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )


def simulate_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    samples: Annotated[
        int | None, typer.Option("--samples", "-n", help="Sampled scenarios (ensemble).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Seed of the ensemble.")] = 0,
    engine: Annotated[
        str, typer.Option("--engine", "-e", help="Back-end: compiled or exact.")
    ] = "compiled",
    workers: Annotated[int, typer.Option("--workers", "-w", help="Local processes.")] = 1,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler, tcp://HOST:PORT.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for Parquet/CSV + manifest.json.")
    ] = None,
) -> None:
    """Simulate SCENARIO: shortfall, prices and value at risk per country and stage.

    SCENARIO is a YAML file: name, commodity (e.g. rare_earths), year, alliance,
    horizon {start: YYYY-MM, months}, and a list of events, each with a type:
    export_control (origin, stages, destinations, fraction, start, duration, licensing),
    outage (country, stage, fraction, start, duration), demand_shock (country, sector,
    change, start), capacity_addition (country, stage, tonnes_per_year, online) or
    stockpile_release (holder, stage, tonnes, rule). Any number can be a distribution
    ({dist: uniform, low, high} ...), sampled with --samples. Every field, with its
    default: docs/methods/simulation.md, section 1 "Scenario files"; examples:
    examples/scenarios/.
    """
    spec = load_scenario(scenario)
    if engine not in ENGINES:
        raise InputError(f"--engine {engine!r}: valid engines are {', '.join(ENGINES)}")
    if samples is None:
        result = simulate(spec, engine=engine)  # type: ignore[arg-type]
        title = f"{spec.name}: central run ({engine} back-end)"
    else:
        with Progress(transient=True, disable=fmt is not Format.table) as bar:
            task = bar.add_task("scenarios", total=None)

            def tick(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = run_ensemble(
                spec,
                samples=samples,
                seed=seed,
                engine=engine,  # type: ignore[arg-type]
                workers=workers,
                scheduler=scheduler,
                progress=tick,
            )
        title = f"{spec.name}: {samples} scenarios, seed {seed} ({engine} back-end)"
    if out is not None:
        _write(result, out)
    meta = {
        "engine": engine,
        "samples": samples,
        "seed": seed if samples is not None else None,
        "data_version": result.manifest["data_version"],
        "units": "shortfall in t of the stage unit over the horizon; prices USD/t",
    }
    frame = result.summary()
    if fmt is Format.table:
        frame = frame[[c for c in frame.columns if c not in TABLE_HIDDEN]]
    render(frame, fmt, title=title, meta=meta)
