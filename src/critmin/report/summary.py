"""The executive summary: short sentences built from the result tables, each with its figure."""

from __future__ import annotations

from critmin.report.results import ReportResults


def key_findings(results: ReportResults) -> list[str]:
    """One sentence per finding, most important first."""
    config = results.config
    findings: list[str] = []
    conc = results.tables["concentration"]
    top = conc.sort_values("share_CHN", ascending=False).head(3)
    for row in top.itertuples():
        findings.append(
            f"China holds {row.share_CHN:.0%} of world {str(row.commodity).replace('_', ' ')} "
            f"{row.stage} ({config.year}; HHI {row.hhi:,.0f})."
        )
    gaps = results.tables["gaps"]
    bottlenecks = gaps[gaps["bottleneck"]].sort_values("gap_pct", ascending=False)
    remaining = bottlenecks["gap_with_projects_pct"].astype(float).tolist()
    for row, left in zip(bottlenecks.itertuples(), remaining, strict=True):
        pipeline = (
            f"pipeline projects by {config.horizon} would close it ({-left:.0f}% to spare)"
            if left <= 0
            else f"pipeline projects by {config.horizon} leave {left:.0f}%"
        )
        findings.append(
            f"{str(row.commodity).replace('_', ' ').capitalize()}: the bottleneck is {row.stage}, "
            f"short by {row.gap:,.0f} {row.unit}/yr ({row.gap_pct:.0f}% of allied demand); "
            f"{pipeline}."
        )
    scenarios = results.tables.get("disruption_summary")
    if scenarios is not None and not scenarios.empty:
        worst = scenarios.sort_values("peak_shortfall_share_p50", ascending=False).iloc[0]
        findings.append(
            f"Worst shipped disruption for {config.alliance}: {worst['scenario']}, with a median "
            f"peak shortfall of {worst['peak_shortfall_share_p50']:.0%} of {worst['stage']} use "
            f"and prices up to {worst['peak_price_index_p50']:.1f}x base (China's "
            f"{worst['china_price_index_p50_min']:.2f}x)."
        )
    stockpile = results.tables.get("stockpile_summary")
    if stockpile is not None and not stockpile.empty:
        plan = stockpile.iloc[0]
        findings.append(
            f"Stockpiling together rather than alone saves "
            f"{plan['value_of_cooperation_usd'] / 1e6:,.2f} M USD over the horizon "
            f"({plan['config']}); the 60-days rule of thumb costs "
            f"{(plan['rule_cost_usd'] - plan['joint_cost_usd']) / 1e6:,.1f} M USD more than the "
            "optimised complementary plan."
        )
    portfolio = results.tables.get("portfolio_summary")
    if portfolio is not None and not portfolio.empty:
        chosen = portfolio.to_dict(orient="records")[0]
        metrics = results.tables["portfolio_metrics"]
        moved = metrics[metrics["china_share_after"] < metrics["china_share_before"] - 1e-12]
        changes = "; ".join(
            f"{str(r['commodity']).replace('_', ' ')} {r['stage']} "
            f"{float(r['china_share_before']):.1%} to {float(r['china_share_after']):.1%}"
            for r in moved.to_dict(orient="records")
        )
        findings.append(
            f"Project portfolio ({chosen['config']}): "
            f"{str(chosen['projects']).replace(',', ';')} "
            f"for {float(chosen['fiscal_cost_usd']) / 1e6:,.0f} M USD of budget cost; China's "
            f"share of output: {changes or 'unchanged'}."
        )
    floor = results.tables.get("pricefloor_summary")
    if floor is not None and not floor.empty:
        by = {str(r["dumping"]): r for r in floor.to_dict(orient="records")}
        calm, severe = by["none"], by["severe"]
        findings.append(
            f"A {float(calm['floor']):g} {calm['unit']} floor on "
            f"{float(calm['volume_tpa']):,.0f} t/yr for {calm['years']} years costs "
            f"{float(calm['expected_cost_usd']) / 1e6:,.0f} M USD expected (P95 "
            f"{float(calm['p95_cost_usd']) / 1e6:,.0f} M); under severe dumping "
            f"{float(severe['expected_cost_usd']) / 1e6:,.0f} M USD."
        )
    suppliers = results.tables.get("lng_suppliers")
    lng = results.tables.get("lng_scenarios")
    if suppliers is not None and lng is not None and not lng.empty:
        leader = suppliers.to_dict(orient="records")[0]
        alone = lng[lng["variant"] == "without_us_volumes"].sort_values("gap_t")
        largest = alone.to_dict(orient="records")[-1]
        findings.append(
            f"Japan's LNG: {leader['source']} supplies {float(leader['share']):.0%} "
            f"({int(leader['year'])}, supplier HHI {float(leader['supplier_hhi']):,.0f}); the "
            f"largest gap of the shipped scenarios is {largest['scenario']}, "
            f"{float(largest['gap_t']) / 1e6:,.1f} Mt over its horizon (peak "
            f"{float(largest['peak_gap_share']):.0%} of demand), bridged by storage for "
            f"{int(largest['months_bridged'])} month(s), at "
            f"{float(largest['extra_cost_usd']) / 1e9:,.1f} bn USD extra."
        )
    gpr = results.tables["geopolrisk"]
    latest = gpr[gpr["year"] == config.year]
    for importer, part in latest.groupby("importer", sort=False):
        worst = part.sort_values("geopolrisk_score", ascending=False).iloc[0]
        findings.append(
            f"Highest GeoPolRisk for {importer} in {config.year}: "
            f"{str(worst['commodity']).replace('_', ' ')} (score {worst['geopolrisk_score']:.3f},"
            f" import risk {worst['import_risk']:.2f})."
        )
    return findings
