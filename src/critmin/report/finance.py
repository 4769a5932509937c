"""The report's finance sections: the project portfolio of the alliance's members with its
frontier, and the cost of a price floor with and without dumping."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from critmin.errors import CritminError, InputError
from critmin.report import engines
from critmin.report.alliance import NotForAlliance, portfolio_for_alliance
from critmin.report.config import PriceFloorSettings, ReportConfig
from critmin.report.trust import Flag, note_flags

DEFAULT_PORTFOLIO = "portfolio/china_share_separation.yaml"
DUMPING_REGIMES = ("none", "moderate", "severe")


def _setting(field: str) -> str:
    """The report config's key of a price-floor term (for error messages)."""
    return f"price_floor.{field}"
RELATIVE_PATHS = ("extra_projects",)


@dataclass
class PortfolioSection:
    """The solved portfolio's tables and what ran, or ``reason``; ``unfunded``: members
    without a budget (left out)."""

    origin: str
    file: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    spec: dict[str, Any] | None = None
    unfunded: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    reason: str | None = None


def _resolved(raw: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Relative paths of a portfolio config resolved against its folder."""
    spec = dict(raw)
    for key in RELATIVE_PATHS:
        if spec.get(key):
            spec[key] = str((folder / str(spec[key])).resolve())
    gaps = spec.get("gaps")
    if isinstance(gaps, dict) and gaps.get("source") == "simulation" and gaps.get("scenario"):
        spec["gaps"] = {**gaps, "scenario": str((folder / str(gaps["scenario"])).resolve())}
    engine = spec.get("engine")
    if isinstance(engine, dict) and engine.get("scenario"):
        spec["engine"] = {**engine, "scenario": str((folder / str(engine["scenario"])).resolve())}
    return spec


def _with_budgets(spec: dict[str, Any], budgets: dict[str, float]) -> dict[str, Any]:
    """A user's own config with its parties' budgets replaced (USD)."""
    parties = {p: dict(v) for p, v in (spec.get("parties") or {}).items()}
    for party, budget in budgets.items():
        if party not in parties:
            raise InputError(f"budgets.{party}: not a party of the portfolio config; valid: "
                             f"{', '.join(parties)}")  # fmt: skip
        parties[party]["budget_usd"] = budget
    return {**spec, "parties": parties}


def compute_portfolio(config: ReportConfig, members: tuple[str, ...]) -> PortfolioSection:
    """``solve_portfolio`` on the settings' config (run as written), or on the shipped
    example with the members as parties, for the report's base year and horizon."""
    shipped = config.portfolio is None
    path = engines.shipped_example(DEFAULT_PORTFOLIO) if shipped else Path(config.portfolio or "")
    section = PortfolioSection("shipped" if shipped else "yours", path.name)
    raw = _resolved(engines.read_mapping(path, "portfolio config"), path.parent)
    if shipped:
        try:
            spec, section.unfunded = portfolio_for_alliance(
                raw, members, config.year, config.horizon, config.budgets
            )
        except NotForAlliance as exc:
            section.reason = f"not computed for {config.alliance}: {exc}"
            return section
    else:
        spec = _with_budgets(raw, config.budgets or {})
    try:
        result = engines.portfolio(spec)
    except CritminError as exc:
        if not shipped:
            raise
        section.reason = f"not computable for {config.alliance} in {config.year}: {exc}"
        return section
    objective = result.objective
    summary = {
        "config": path.name,
        "origin": section.origin,
        "objective": objective["kind"],
        "unit": objective["unit"],
        "baseline": objective["baseline"],
        "value": objective["value"],
        "improvement": objective["improvement"],
        "budget_usd": objective["budget_usd"],
        "fiscal_cost_usd": objective["fiscal_cost_usd"],
        "optimality_gap": objective["optimality_gap"],
        "projects": ", ".join(objective["projects"]),
        "parties": " ".join(spec["parties"]),
        "base_year": result.config.base_year,
        "target_year": result.config.target_year,
        "marginal_value_per_usd": result.marginal_value["per_usd"],
        "marginal_value_method": result.marginal_value["method"],
    }
    tag = {"config": path.name}
    section.spec = spec
    section.tables = {
        "portfolio_selected": result.selected.assign(**tag),
        "portfolio_metrics": result.metrics.assign(**tag),
        "portfolio_frontier": result.frontier.assign(**tag),
        "portfolio_summary": pd.DataFrame([summary]),
    }
    section.notes = list(result.notes)
    section.flags = note_flags(section.notes)
    return section


def pricefloor_tables(
    settings: PriceFloorSettings, seed: int
) -> tuple[dict[str, pd.DataFrame], list[Flag]]:
    """The floor valued without dumping and under the moderate and severe dumping presets,
    on the same random numbers and the same posterior draws of the price model: totals (with
    the expected cost's interval over the parameters, P95 and CVaR95) and per-year expected
    and P95 costs; and the flags of the figures (the terms' basis, the price series, preset
    dumping regimes)."""
    commodity, terms = engines.case_terms(
        settings.case, commodity=settings.commodity, floor=settings.floor,
        volume_tpa=settings.volume_tpa, years=settings.years, label=_setting,
    )  # fmt: skip
    post = engines.posterior(commodity, draws=settings.draws, seed=seed)
    volumes = terms.volumes
    totals, annual = [], []
    estimated_from = ""
    for regime in DUMPING_REGIMES:
        run = engines.pricefloor(commodity, terms, regime, settings.paths, seed, post,
                                 settings.level)  # fmt: skip
        valued, estimated_from = run.valued, str(run.process.estimated_from)
        band = (valued.uncertainty or {}).get("expected_cost", {})
        totals.append(
            {
                "dumping": regime,
                "case": settings.case,
                "commodity": commodity,
                "floor": terms.floor,
                "unit": run.unit,
                "volume_first_tpa": volumes[0],
                "volume_full_tpa": max(volumes),
                "volume_total_t": sum(volumes),
                "years": terms.years,
                "upside_share": terms.upside_share,
                "expected_cost_usd": valued.expected_cost,
                "expected_cost_low_usd": band.get("low", float("nan")),
                "expected_cost_high_usd": band.get("high", float("nan")),
                "interval_level": settings.level,
                "p95_cost_usd": valued.p95_cost,
                "cvar95_cost_usd": valued.cvar95_cost,
                "upside_receipts_usd": valued.expected_upside_receipts,
                "present_value_usd": valued.present_value,
                "present_value_p95_usd": valued.present_value_p95,
                "present_value_se_usd": valued.present_value_se,
                "probability_of_payout": valued.probability_of_payout,
                "reference_price_start": float(run.process.s0),
                "paths": valued.paths,
                "posterior_draws": settings.draws,
                "estimated_from": estimated_from,
            }
        )
        annual.append(valued.annual.assign(dumping=regime))
    basis = estimated_from.replace("_", " ")  # "series nd_oxide" -> "series nd oxide"
    flags = [Flag("derived", f"price dynamics estimated from {basis}; the interval carries "
                  f"the uncertainty of its parameters ({settings.draws} posterior draws)"),
             Flag("assumption", "the dumping regimes are the method's presets "
                  "(docs/methods/pricefloor.md), not estimates")]  # fmt: skip
    if settings.case != "none":
        grades = set(engines.reference_case(settings.case)["grade"].astype(str)) - {"primary"}
        volumes_from = ("yours" if settings.volume_tpa is not None
                        else "derived from the producer's reported output and capacity")
        flags.append(
            Flag("derived" if "derived" in grades else "secondary",
                 f"the terms of case {settings.case} come from {', '.join(sorted(grades))} "
                 f"sources; the covered volumes are {volumes_from}")
        )  # fmt: skip
    tables = {
        "pricefloor_summary": pd.DataFrame(totals),
        "pricefloor_annual": pd.concat(annual, ignore_index=True),
    }
    return tables, flags
