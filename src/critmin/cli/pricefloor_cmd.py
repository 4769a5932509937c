"""``critmin pricefloor``: what a price floor costs the payer (with an interval over the price
model's uncertain parameters and its tail), and what it does to a project."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

import critmin
from critmin.analysis.pricefloor import (
    FloorTerms,
    ParameterPosterior,
    Project,
    dumping_preset,
    estimate,
    posterior,
    reference_case,
    reference_cases,
    reference_terms,
    value_floor,
)
from critmin.analysis.pricefloor.history import UNITS
from critmin.analysis.pricefloor.process import Dumping, PriceProcess
from critmin.cli.output import Format, render, staged_folder
from critmin.errors import InputError

NO_CASE = "none"


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
        update["theta"] = math.log(long_run_price)
    if update:
        update["estimated_from"] = process.estimated_from + "; user-set: " + ", ".join(update)
        process = dataclasses.replace(process, **update)
    return process


def _terms(
    case: str, commodity: str | None, floor: float | None, volume_tpa: float | None,
    years: int | None, upside_share: float | None,
) -> tuple[str, FloorTerms]:  # fmt: skip
    """The case's cited terms with the user's overrides; ``--case none`` needs them all."""
    for name, value in (("--floor", floor), ("--volume-tpa", volume_tpa)):
        if value is not None and value <= 0:
            raise InputError(f"{name} {value}: must be > 0")
    if case == NO_CASE:
        missing = [n for n, v in (("--floor", floor), ("--volume-tpa", volume_tpa),
                                  ("--years", years)) if v is None]  # fmt: skip
        if missing:
            raise InputError(f"--case none: give {', '.join(missing)} (no cited terms to use)")
        commodity = commodity or "ndpr_oxide"
        if commodity not in UNITS:
            raise InputError(f"--commodity {commodity!r}: valid values are {', '.join(UNITS)}")
        terms = FloorTerms(float(floor or 0), int(years or 0), float(volume_tpa or 0),
                           unit=UNITS[commodity], upside_share=upside_share or 0.0)  # fmt: skip
        return commodity, terms
    if case not in reference_cases():
        raise InputError(f"--case {case!r}: valid values are {', '.join(reference_cases())}, none")
    cited = str(reference_case(case).set_index("field").loc["commodity", "value"])
    if commodity is not None and commodity != cited:
        raise InputError(f"--commodity {commodity!r}: case {case} covers {cited}; use --case none")
    terms = reference_terms(case)
    update: dict[str, Any] = {}
    if floor is not None:
        update["floor"] = floor
    if years is not None:
        update["years"] = years
        volumes = terms.volumes[:years] + (terms.volumes[-1],) * max(0, years - terms.years)
        update["volume_tpa"] = volumes
        update["upside_from_year"] = min(terms.upside_from_year, years)
    if volume_tpa is not None:
        update["volume_tpa"] = volume_tpa
    if upside_share is not None:
        update["upside_share"] = upside_share
    return cited, dataclasses.replace(terms, **update) if update else terms


def _uncertain(
    commodity: str, process: PriceProcess, enabled: bool, draws: int, seed: int
) -> ParameterPosterior | None:
    """The parameters' posterior, unless switched off or the user fixed a parameter."""
    if not enabled or "user-set" in process.estimated_from:
        return None
    if draws < 2:
        raise InputError(f"--draws {draws}: at least 2 needed")
    return posterior(commodity, draws=draws, seed=seed)


def _money(value: float) -> str:
    return f"{value / 1e6:,.1f} M"


def pricefloor_command(
    case: Annotated[
        str, typer.Option("--case", help="Cited terms: dod_mp, jare_lynas, or none.")
    ] = "dod_mp",
    commodity: Annotated[
        str | None, typer.Option("--commodity", "-c", help="ndpr_oxide or lithium_carbonate.")
    ] = None,
    floor: Annotated[
        float | None, typer.Option("--floor", help="Floor price (USD/kg; USD/t Li2CO3).")
    ] = None,
    volume_tpa: Annotated[
        float | None, typer.Option("--volume-tpa", help="Constant covered volume, t/yr.")
    ] = None,
    years: Annotated[int | None, typer.Option("--years", help="Term of the floor, years.")] = None,
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
        float | None, typer.Option("--long-run-price", help="Long-run median price (fixes it).")
    ] = None,
    kappa: Annotated[
        float | None, typer.Option("--kappa", help="Mean reversion, per year (fixes it).")
    ] = None,
    sigma: Annotated[
        float | None, typer.Option("--sigma", help="Volatility, per sqrt(year) (fixes it).")
    ] = None,
    upside_share: Annotated[
        float | None,
        typer.Option("--upside-share", help="Share of the upside to the payer (0 turns it off)."),
    ] = None,
    uncertainty: Annotated[
        bool,
        typer.Option("--uncertainty/--no-uncertainty", help="Carry the parameters' posterior."),
    ] = True,
    draws: Annotated[int, typer.Option("--draws", help="Posterior draws.")] = 1000,
    level: Annotated[float, typer.Option("--level", help="Interval level, 0-1.")] = 0.9,
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
    """Value a price floor / contract for difference: expected cost and interval, P95, CVaR.

    Also present value and project NPV/IRR (default: the cited DoD-MP Materials terms)."""
    commodity, terms = _terms(case, commodity, floor, volume_tpa, years, upside_share)
    if (capex_usd is None) != (unit_cost is None):
        raise InputError("--capex-usd and --unit-cost: give both for NPV/IRR, or neither")
    if not 0 < level < 1:
        raise InputError(f"--level {level}: must lie in (0, 1)")
    regime = dumping_preset(dumping)
    overrides = {k: v for k, v in (("hazard", dumping_hazard), ("depth", dumping_depth),
                 ("duration_years", dumping_years)) if v is not None}  # fmt: skip
    if overrides:
        regime = dataclasses.replace(regime, **overrides)
    process = _process(commodity, reference_price, kappa, sigma, long_run_price, regime)
    post = _uncertain(commodity, process, uncertainty, draws, seed)
    project = None if capex_usd is None else Project(capex_usd, float(unit_cost or 0.0))
    common: dict[str, Any] = {"paths": paths, "seed": seed, "rate": rate, "workers": workers,
                              "posterior": post, "level": level}  # fmt: skip
    result = value_floor(process, terms, project=project, **common)
    doc: dict[str, Any] = {"case": case, "commodity": commodity, **result.to_dict()}
    if regime.active:
        calm = value_floor(dataclasses.replace(process, dumping=Dumping()), terms, **common)
        doc["dumping_effect"] = {
            "regime": dataclasses.asdict(regime),
            "present_value_without_dumping": calm.present_value,
            "expected_cost_without_dumping": calm.expected_cost,
            "present_value_increase": result.present_value - calm.present_value,
        }
    if case != NO_CASE:
        doc["reference_case"] = reference_case(case).to_dict(orient="records")
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
    meta = _meta(result, process, terms, commodity, doc)
    render(pd.DataFrame(result.annual), fmt, meta=meta,
           title=f"{case}: {commodity} floor {terms.floor:g} for {terms.years} years")  # fmt: skip


def _meta(
    result: Any, process: PriceProcess, terms: FloorTerms, commodity: str, doc: dict[str, Any]
) -> dict[str, str]:
    """The headline lines of the table view (USD)."""
    meta = {"expected total cost (USD)": _money(result.expected_cost)}
    if result.uncertainty is not None:
        band = result.uncertainty["expected_cost"]
        meta["expected cost, parameter interval"] = (
            f"{_money(band['low'])} - {_money(band['high'])} ({band['level']:.0%}, "
            f"{result.uncertainty['parameters']['draws']} posterior draws)"
        )
    else:
        meta["expected cost, parameter interval"] = "not computed (parameters fixed)"
    meta["P95 / CVaR95 total cost (USD)"] = (
        f"{_money(result.p95_cost)} / {_money(result.cvar95_cost)}"
    )
    meta["present value (USD)"] = (
        f"{_money(result.present_value)} +/- {_money(result.present_value_se)} (1 s.e.)"
    )
    meta["upside returned to the payer (USD)"] = _money(result.expected_upside_receipts)
    meta["volume (t/yr by contract year)"] = ", ".join(f"{v:,.0f}" for v in terms.volumes)
    meta["price model"] = process.estimated_from
    meta["reference price"] = f"{process.s0:g} {UNITS[commodity]}"
    if "dumping_effect" in doc:
        meta["dumping adds to PV (USD)"] = _money(doc["dumping_effect"]["present_value_increase"])
    if result.project is not None:
        for name in ("without_floor", "with_floor"):
            part = result.project[name]
            shown = "n/a" if part["irr"] is None else f"{part['irr']:.3f}"
            meta[f"project {name.replace('_', ' ')}"] = (
                f"NPV {part['npv_usd']:,.0f} USD, IRR {shown}"
            )
    return meta
