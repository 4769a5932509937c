"""The key findings: one sentence per finding, built from the result tables, each with how
sure the report is of it (confidence and the reason)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from critmin.report import labels
from critmin.report.results import ReportResults
from critmin.report.trust import Flag, confidence

MODEL_FLAG = Flag(
    "assumption",
    "a model result: demand elasticities, substitution and the rationing rule are the "
    "simulation's stated defaults (docs/methods/simulation.md, section 4)",
)


@dataclass(frozen=True)
class Finding:
    """A key finding, its confidence (``high``, ``medium``, ``low``) and why."""

    text: str
    confidence: str
    why: str

    @classmethod
    def of(cls, text: str, flags: list[Flag], sure: str) -> Finding:
        """``sure``: why a finding without flags is well founded."""
        level = confidence(flags)
        ranked = sorted(flags, key=lambda f: f.grade != "assumption")
        why = ranked[0].reason if ranked else sure
        return cls(text, level, why)


def _f(value: Any) -> float:
    """A table value as a float (NaN when missing)."""
    return float("nan") if labels.missing(value) else float(value)


def _concentration(results: ReportResults) -> list[Finding]:
    year = results.config.year
    conc = results.tables["concentration"].sort_values("share_CHN", ascending=False).head(3)
    return [
        Finding.of(
            f"China produces {labels.percent(row.share_CHN)} of the world's "
            f"{labels.product(str(row.commodity), str(row.stage))} "
            f"({year}; HHI {labels.number(row.hhi)}).",
            results.stage_flags.get((str(row.commodity), str(row.stage)), []),
            "official production statistics (World Mining Data)",
        )
        for row in conc.itertuples()
    ]


def _gaps(results: ReportResults) -> list[Finding]:
    config = results.config
    gaps = results.tables["gaps"]
    found = []
    for row in gaps[gaps["bottleneck"].fillna(False).astype(bool)].sort_values(
        "gap_pct", ascending=False
    ).itertuples():
        left = _f(row.gap_with_projects)
        if not _f(row.projects_capacity) > 0:
            pipeline = f"no pipeline project of the members or partners comes online by " \
                f"{config.horizon}"  # fmt: skip
        elif left <= 0:
            pipeline = (
                f"pipeline projects online by {config.horizon} would close it, with "
                f"{labels.quantity(-left, str(row.unit))} a year to spare"
            )
        else:
            pipeline = (
                f"pipeline projects online by {config.horizon} would leave "
                f"{labels.quantity(left, str(row.unit))} a year "
                f"({labels.percent(_f(row.gap_with_projects_pct) / 100)} of demand) uncovered"
            )
        flags = list(results.stage_flags.get((str(row.commodity), str(row.stage)), []))
        for basis in (str(row.demand_basis), str(row.friends_basis)):
            if basis.startswith("derived") or "unknown" in basis:
                flags.append(Flag("derived", basis))
        found.append(
            Finding.of(
                f"{labels.commodity(str(row.commodity))}: the bottleneck for "
                f"{config.alliance} is {labels.stage(str(row.stage))}, short by "
                f"{labels.quantity(row.gap, str(row.unit))} a year "
                f"({labels.percent(_f(row.gap_pct) / 100)} of allied demand); {pipeline}.",
                flags,
                "members' output and trade from official statistics (World Mining Data, BACI)",
            )
        )
    return found


def _disruption(results: ReportResults) -> list[Finding]:
    config = results.config
    summary = results.tables["disruption_summary"]
    done = summary[summary["computed"].astype(bool)] if len(summary) else summary
    if done.empty:
        reasons = [run.reason for run in results.scenarios if run.reason]
        if not reasons:
            return []
        return [Finding(f"No disruption scenario could be run for {config.alliance} in "
                        f"{config.year}: {reasons[0]}.", "low", "no result")]  # fmt: skip
    worst = done.sort_values("peak_shortfall_share_p50", ascending=False).iloc[0]
    china = worst.get("china_price_index_p50_min")
    china_text = "" if labels.missing(china) or _f(china) > 0.995 else \
        f"; China's own price falls to {labels.number(china, 2)} times base"  # fmt: skip
    return [
        Finding.of(
            f"Worst of the {len(done)} disruption scenarios run for {config.alliance}: "
            f"{worst['title'].rstrip('.')}. Median peak shortfall "
            f"{labels.percent(worst['peak_shortfall_share_p50'])} of the use of "
            f"{labels.product(str(worst['commodity']), str(worst['stage']))}, prices up to "
            f"{labels.number(worst['peak_price_index_p50'], 2)} times base{china_text}.",
            [MODEL_FLAG],
            "",
        )
    ]


def _stockpile(results: ReportResults) -> list[Finding]:
    section = results.stockpile
    if section is None or section.reason or "stockpile_summary" not in results.tables:
        return []
    plan = results.tables["stockpile_summary"].iloc[0]
    saving = labels.clean(float(plan["value_of_cooperation_usd"]), float(plan["alone_cost_usd"]))
    together = (
        f"holding stocks together rather than each alone saves {labels.usd(saving)} over the "
        "horizon" if saving > 0 else "holding stocks together saves nothing over holding alone"
    )  # fmt: skip
    rule = ""
    if not labels.missing(plan.get("rule_cost_usd")):
        extra = float(plan["rule_cost_usd"]) - float(plan["joint_cost_usd"])
        rule = f"; the rule of thumb (days of use) costs {labels.usd(extra)} more than the " \
            "optimised complementary plan"  # fmt: skip
    allies = labels.countries(str(plan["allies"]).split())
    return [Finding.of(f"Stockpiles ({allies}): {together}{rule}.", section.flags,
                       "cited damage figures")]  # fmt: skip


def _portfolio(results: ReportResults) -> list[Finding]:
    section = results.portfolio
    if section is None or section.reason or "portfolio_summary" not in results.tables:
        return []
    chosen = results.tables["portfolio_summary"].iloc[0]
    metrics = results.tables["portfolio_metrics"]
    moved = metrics[metrics["china_share_after"] < metrics["china_share_before"] - 1e-12]
    changes = "; ".join(
        f"China's share of {labels.product(str(r.commodity), str(r.stage))} falls from "
        "{} to {}".format(*labels.percent_pair(r.china_share_before, r.china_share_after))
        for r in moved.itertuples()
    )
    selected = results.tables["portfolio_selected"]
    named = dict(zip(selected["project_id"], selected["project"], strict=True))
    names = [str(named.get(p.strip(), p.strip())) for p in str(chosen["projects"]).split(",")
             if p.strip()]  # fmt: skip
    parties = labels.countries(str(chosen["parties"]).split())
    effect = f"by {chosen['target_year']}, {changes}" if changes else \
        "China's share of the targeted stages does not change"  # fmt: skip
    funded = ", ".join(names) if names else "no project"
    return [
        Finding.of(
            f"Projects to fund ({parties}, {labels.usd(chosen['budget_usd'])} of budget): "
            f"{funded}, for {labels.usd(chosen['fiscal_cost_usd'])} of budget cost; {effect}.",
            section.flags,
            "",
        )
    ]


def _pricefloor(results: ReportResults) -> list[Finding]:
    floor = results.tables.get("pricefloor_summary")
    if floor is None or floor.empty:
        return []
    by = {str(r["dumping"]): r for r in floor.to_dict(orient="records")}
    calm, severe = by["none"], by["severe"]
    return [
        Finding.of(
            f"A floor of {labels.floor_terms(calm)} costs "
            f"{labels.usd(calm['expected_cost_usd'])} expected "
            f"({labels.percent(calm['interval_level'])} interval over the price model's "
            f"parameters {labels.usd(calm['expected_cost_low_usd'])} - "
            f"{labels.usd(calm['expected_cost_high_usd'])}; 95th percentile "
            f"{labels.usd(calm['p95_cost_usd'])}); under severe dumping "
            f"{labels.usd(severe['expected_cost_usd'])}.",
            results.pricefloor_flags,
            "",
        )
    ]


def _energy(results: ReportResults) -> list[Finding]:
    energy = results.energy
    if energy is None:
        return []
    found = []
    suppliers = results.tables.get("lng_suppliers", pd.DataFrame())
    if not suppliers.empty:
        firsts = suppliers.groupby("importer", sort=False).head(1)
        parts = "; ".join(
            f"{labels.country(str(r.importer))}: {labels.country(str(r.source))} "
            f"{labels.percent(r.share)} (supplier HHI {labels.number(r.supplier_hhi)})"
            for r in firsts.itertuples()
        )
        found.append(Finding.of(f"Largest LNG supplier of each member that imports LNG "
                                f"({results.config.year}): {parts}.", [],
                                "customs statistics (CEPII BACI, HS 271111)"))  # fmt: skip
    lng = results.tables.get("lng_scenarios", pd.DataFrame())
    if energy.reason is None and not lng.empty:
        alone = lng[lng["variant"] == "without_us_volumes"].sort_values("gap_t")
        largest = alone.iloc[-1]
        bill = float(largest["extra_cost_usd"])
        change = "rises" if bill >= 0 else "falls"
        found.append(
            Finding.of(
                f"Japan's LNG, the largest gap of the scenarios run (\u201c{largest['title']}"
                f"\u201d): {labels.quantity(largest['gap_t'], 't')} over its horizon (peak "
                f"{labels.percent(largest['peak_gap_share'])} of demand); storage bridges "
                f"{int(largest['months_bridged'])} month(s) and the import bill {change} by "
                f"{labels.usd(abs(bill))}.",
                [MODEL_FLAG],
                "",
            )
        )
    return found


def _geopolrisk(results: ReportResults) -> list[Finding]:
    config = results.config
    gpr = results.tables["geopolrisk"]
    latest = gpr[gpr["year"] == config.year]
    if latest.empty:
        return []
    parts = []
    for importer in [config.alliance, *results.members]:
        part = latest[latest["importer"] == importer]
        if part.empty:
            continue
        worst = part.sort_values("geopolrisk_score", ascending=False).iloc[0]
        parts.append(
            f"{labels.country(importer)}: {labels.commodity(str(worst['commodity'])).lower()} "
            f"({labels.number(worst['geopolrisk_score'], 2)})"
        )
    return [
        Finding.of(
            f"Highest GeoPolRisk score in {config.year}, pooled and per member: "
            f"{'; '.join(parts)}.",
            [],
            "the published GeoPolRisk method on World Mining Data, BACI and WGI",
        )
    ]


def key_findings(results: ReportResults) -> list[Finding]:
    """The findings, most important first."""
    return [
        *_concentration(results),
        *_gaps(results),
        *_disruption(results),
        *_stockpile(results),
        *_portfolio(results),
        *_pricefloor(results),
        *_energy(results),
        *_geopolrisk(results),
    ]
