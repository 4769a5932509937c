"""``critmin pricefloor``: what a price floor costs the payer, and what it does to a project."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

import critmin
from critmin.analysis.pricefloor import (
    FloorTerms,
    Project,
    dumping_preset,
    estimate,
    reference_case,
    value_floor,
)
from critmin.analysis.pricefloor.history import UNITS
from critmin.analysis.pricefloor.process import Dumping, PriceProcess
from critmin.cli.output import Format, render, staged_folder
from critmin.errors import InputError


def _process(
    commodity: str, reference_price: float | None, kappa: float | None, sigma: float | None,
    long_run_price: float | None, dumping: Dumping,
) -> PriceProcess:  # fmt: skip
    if reference_price is not None and reference_price <= 0:
        raise InputError(f"--reference-price {reference_price}: must be > 0")
    if long_run_price is not None and long_run_price <= 0:
        raise InputError(f"--long-run-price {long_run_price}: must be > 0")
    process = estimate(commodity, s0=reference_price, dumping=dumping)
    update: dict[str, Any] = {}
    if kappa is not None:
        update["kappa"] = kappa
    if sigma is not None:
        update["sigma"] = sigma
    if long_run_price is not None:
        import math

        update["theta"] = math.log(long_run_price)
    if update:
        update["estimated_from"] = process.estimated_from + "; user-set: " + ", ".join(update)
        process = dataclasses.replace(process, **update)
    return process


def pricefloor_command(
    commodity: Annotated[
        str, typer.Option("--commodity", "-c", help="ndpr_oxide or lithium_carbonate.")
    ] = "ndpr_oxide",
    floor: Annotated[
        float, typer.Option("--floor", help="Floor price (USD/kg; USD/t Li2CO3).")
    ] = 110.0,
    volume_tpa: Annotated[
        float, typer.Option("--volume-tpa", help="Covered volume, t/yr.")
    ] = 1000.0,
    years: Annotated[int, typer.Option("--years", help="Term of the floor, years.")] = 10,
    dumping: Annotated[
        str, typer.Option("--dumping", help="Dumping regime: none, moderate or severe.")
    ] = "none",
    dumping_hazard: Annotated[
        float | None, typer.Option("--dumping-hazard", help="Episodes per year (overrides).")
    ] = None,
    dumping_depth: Annotated[
        float | None, typer.Option("--dumping-depth", help="Price cut in an episode, 0-1.")
    ] = None,
    dumping_years: Annotated[
        float | None, typer.Option("--dumping-years", help="Mean episode length, years.")
    ] = None,
    reference_price: Annotated[
        float | None, typer.Option("--reference-price", help="Benchmark price at the start.")
    ] = None,
    long_run_price: Annotated[
        float | None, typer.Option("--long-run-price", help="Long-run median price (overrides).")
    ] = None,
    kappa: Annotated[
        float | None, typer.Option("--kappa", help="Mean reversion, per year.")
    ] = None,
    sigma: Annotated[
        float | None, typer.Option("--sigma", help="Volatility, per sqrt(year).")
    ] = None,
    upside_share: Annotated[
        float, typer.Option("--upside-share", help="Share of upside above the floor to payer.")
    ] = 0.0,
    rate: Annotated[float, typer.Option("--rate", help="Discount rate, per year.")] = 0.04,
    capex_usd: Annotated[
        float | None, typer.Option("--capex-usd", help="Project capex for NPV/IRR, USD.")
    ] = None,
    unit_cost: Annotated[
        float | None, typer.Option("--unit-cost", help="Project cost per unit sold.")
    ] = None,
    paths: Annotated[int, typer.Option("--paths", "-n", help="Monte Carlo paths.")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed.")] = 0,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Threads.")] = 1,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for pricefloor.json + annual.csv.")
    ] = None,
) -> None:
    """Value a price floor / contract for difference by Monte Carlo (cost, P95, PV, NPV/IRR)."""
    if commodity not in UNITS:
        raise InputError(f"--commodity {commodity!r}: valid values are {', '.join(UNITS)}")
    if floor <= 0:
        raise InputError(f"--floor {floor}: must be > 0")
    if volume_tpa <= 0:
        raise InputError(f"--volume-tpa {volume_tpa}: must be > 0")
    if (capex_usd is None) != (unit_cost is None):
        raise InputError("--capex-usd and --unit-cost: give both for NPV/IRR, or neither")
    regime = dumping_preset(dumping)
    overrides = {k: v for k, v in (("hazard", dumping_hazard), ("depth", dumping_depth),
                 ("duration_years", dumping_years)) if v is not None}  # fmt: skip
    if overrides:
        regime = dataclasses.replace(regime, **overrides)
    process = _process(commodity, reference_price, kappa, sigma, long_run_price, regime)
    terms = FloorTerms(floor, years, volume_tpa, unit=UNITS[commodity], upside_share=upside_share)
    project = None if capex_usd is None else Project(capex_usd, float(unit_cost or 0.0))
    result = value_floor(process, terms, paths=paths, seed=seed, rate=rate, workers=workers,
                         project=project)  # fmt: skip
    doc: dict[str, Any] = {"commodity": commodity, **result.to_dict()}
    if regime.active:
        calm = value_floor(dataclasses.replace(process, dumping=Dumping()), terms, paths=paths,
                           seed=seed, rate=rate, workers=workers)  # fmt: skip
        doc["dumping_effect"] = {
            "regime": dataclasses.asdict(regime),
            "present_value_without_dumping": calm.present_value,
            "expected_cost_without_dumping": calm.expected_cost,
            "present_value_increase": result.present_value - calm.present_value,
        }
    doc["reference_case"] = reference_case("dod_mp").to_dict(orient="records")
    doc["code_version"] = critmin.__version__
    if out is not None:
        with staged_folder(out) as staging:
            (staging / "pricefloor.json").write_text(
                json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                encoding="utf-8",
            )
            result.annual.to_csv(staging / "annual.csv", index=False)
    if fmt is Format.json:
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False))
        return
    meta = {
        "expected total cost (USD)": f"{result.expected_cost:,.0f}",
        "P95 total cost (USD)": f"{result.p95_cost:,.0f}",
        "present value (USD)": (
            f"{result.present_value:,.0f} +/- {result.present_value_se:,.0f} (1 s.e.)"
        ),
        "probability of any payout": f"{result.probability_of_payout:.3f}",
        "price model": process.estimated_from,
        "reference price": f"{process.s0:g} {UNITS[commodity]}",
    }
    if "dumping_effect" in doc:
        meta["dumping adds to PV (USD)"] = f"{doc['dumping_effect']['present_value_increase']:,.0f}"
    if result.project is not None:
        for name in ("without_floor", "with_floor"):
            part = result.project[name]
            shown = "n/a" if part["irr"] is None else f"{part['irr']:.3f}"
            meta[f"project {name.replace('_', ' ')}"] = (
                f"NPV {part['npv_usd']:,.0f} USD, IRR {shown}"
            )
    render(pd.DataFrame(result.annual), fmt, title=f"{commodity} floor {floor:g} for {years} years",
           meta=meta)  # fmt: skip
