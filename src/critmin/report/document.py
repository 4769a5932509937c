"""Assemble the self-contained HTML report: Plotly's JS inline once, no network needed."""

from __future__ import annotations

import html
from importlib.metadata import version

import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from critmin.report import charts
from critmin.report.results import ReportResults
from critmin.report.summary import key_findings

CSS = """
body { font-family: Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.8em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; font-size: .85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.note { color: #555; font-size: .9em; } .findings li { margin: .3em 0; }
"""


def _figure(figure: go.Figure, div_id: str) -> str:
    return str(
        figure.to_html(
            include_plotlyjs=False,
            full_html=False,
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
    )


def _table(frame: pd.DataFrame, columns: list[str], digits: int = 3) -> str:
    shown = frame[[c for c in columns if c in frame.columns]].copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(
                lambda v: (
                    "" if pd.isna(v) else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.{digits}g}")
                )
            )
    return str(shown.to_html(index=False, escape=True, border=0, na_rep=""))


def _disruption_section(results: ReportResults) -> list[str]:
    config = results.config
    summary = results.tables["disruption_summary"]
    parts = [
        "<h2>Disruption scenarios</h2>",
        f"<p>Each scenario file is sampled {config.samples} times (seed {config.seed}) and run "
        "month by month through the fast market-clearing engine (docs/methods/simulation.md). "
        "Bands are the 5th-95th percentiles across draws, lines the medians; shortfall is final "
        "use unmet at base prices, price the index against the base price. China's price is the "
        "dashed line.</p>",
    ]
    if summary.empty:
        parts.append("<p>No scenario files were found: list them under <code>scenarios:</code> "
                     "in the settings file.</p>")  # fmt: skip
        return parts
    for position, row in enumerate(summary.itertuples()):
        data = results.paths[str(row.scenario)]
        title = f"{row.scenario}: {data.attrs.get('description', '')}".strip(": ")
        figure = charts.disruption_fan(data, config.alliance, str(row.stage), title[:110])
        parts.append(_figure(figure, f"chart-scenario-{position}"))
    parts.append(_table(summary, list(summary.columns)))
    return parts


def _usd(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value / 1e6:,.2f} M USD"


def _stockpile_section(results: ReportResults) -> list[str]:
    summary = results.tables["stockpile_summary"].iloc[0]
    holdings = results.tables["stockpile_holdings"]
    costs = results.tables["stockpile_costs"]
    return [
        "<h2>Stockpile: alone versus complementary</h2>",
        f"<p>Two-stage stochastic program (linopy + HiGHS, docs/methods/stockpile.md) on "
        f"<code>{html.escape(str(summary['config']))}</code>: holdings chosen before a "
        f"disruption, released and shared between allies month by month in "
        f"{summary['scenarios_kept']} representative shortfall scenarios from the simulation "
        f"engine. Cost over the horizon: each ally alone {_usd(summary['alone_cost_usd'])}, "
        f"complementary {_usd(summary['joint_cost_usd'])}, 60 days of consumption "
        f"{_usd(summary['rule_cost_usd'])}. Value of cooperation "
        f"{_usd(summary['value_of_cooperation_usd'])}; value of the stochastic solution "
        f"{_usd(summary['value_of_stochastic_solution_usd'])}; expected value of perfect "
        f"information {_usd(summary['expected_value_of_perfect_information_usd'])}.</p>",
        _figure(charts.stockpile_holdings(holdings), "chart-stockpile"),
        _table(
            holdings,
            [
                "arrangement",
                "ally",
                "material",
                "holding_t",
                "holding_days",
                "expected_shortfall_t",
            ],
        ),
        _table(
            costs,
            [
                "ally",
                "alone_cost_usd",
                "joint_cost_usd",
                "rule_cost_usd",
                "split_proportional_usd",
                "split_shapley_usd",
            ],
        ),
    ]


def _portfolio_section(results: ReportResults) -> list[str]:
    summary = results.tables["portfolio_summary"].iloc[0]
    esc = html.escape
    return [
        "<h2>Projects to fund: portfolio and frontier</h2>",
        f"<p>Mixed-integer programme (linopy + HiGHS, docs/methods/portfolio.md) on "
        f"<code>{esc(str(summary['config']))}</code>: projects of the cited pipeline and "
        f"instruments (grant, loan, equity, offtake, price floor) chosen within each party's "
        f"budget, the decision window and per-country limits, weighted by probability of "
        f"success. Objective: {esc(str(summary['objective']))} ({esc(str(summary['unit']))}), "
        f"from {summary['baseline']:.4f} to {summary['value']:.4f} for "
        f"{_usd(summary['fiscal_cost_usd'])} of budget cost out of "
        f"{_usd(summary['budget_usd'])}; optimality gap {summary['optimality_gap']:.2g}; "
        f"marginal value of the last dollar {summary['marginal_value_per_usd']:.3g} "
        f"({esc(str(summary['marginal_value_method']))}).</p>",
        _figure(
            charts.portfolio_frontier(results.tables["portfolio_frontier"], str(summary["unit"])),
            "chart-portfolio",
        ),
        _table(
            results.tables["portfolio_selected"],
            [
                "project",
                "country",
                "commodity",
                "stage",
                "party",
                "instrument",
                "amount_usd",
                "fiscal_cost_usd",
                "online_year",
                "expected_t_per_year",
                "probability_of_success",
            ],
        ),
        _table(
            results.tables["portfolio_metrics"],
            [
                "commodity",
                "stage",
                "added_t_per_year",
                "hhi_before",
                "hhi_after",
                "china_share_before",
                "china_share_after",
                "hhi_change_per_billion_usd",
                "china_share_change_per_billion_usd",
            ],
        ),
    ]


def _pricefloor_section(results: ReportResults) -> list[str]:
    summary = results.tables["pricefloor_summary"]
    first = summary.iloc[0]
    unit = f"{first['floor']:g} {first['unit']} on {first['volume_tpa']:,.0f} t/yr for " \
        f"{first['years']} years"  # fmt: skip
    return [
        "<h2>Price floor: what it costs</h2>",
        f"<p>Monte Carlo valuation (docs/methods/pricefloor.md) of a floor of {unit} "
        f"({html.escape(str(first['commodity']))}; the DoD-MP Materials terms by default): a "
        "mean-reverting log price estimated from the embedded history, with and without a "
        f"dumping regime; {first['paths']:,} paths, the same random numbers for each "
        "regime. Lines: expected cost per year; thin lines: the 95th percentile.</p>",
        _figure(
            charts.pricefloor_costs(results.tables["pricefloor_annual"], unit),
            "chart-pricefloor",
        ),
        _table(
            summary,
            [
                "dumping",
                "expected_cost_usd",
                "p95_cost_usd",
                "present_value_usd",
                "present_value_p95_usd",
                "probability_of_payout",
                "reference_price_start",
            ],
        ),
    ]


def _lng_section(results: ReportResults) -> list[str]:
    suppliers = results.tables["lng_suppliers"]
    scenarios = results.tables["lng_scenarios"]
    year = int(suppliers["year"].iloc[0])
    parts = [
        "<h2>Japan's LNG security</h2>",
        f"<p>LNG runs through the same network, scenario and clearing machinery as the minerals "
        f"(docs/methods/lng.md): Japan's imports by source from BACI (HS 271111, {year}; "
        f"supplier HHI {suppliers['supplier_hhi'].iloc[0]:,.0f}), contracted and spot volumes, "
        "voyage times as delivery lags and storage in days of consumption. Each shipped "
        "scenario runs without and with the 2030 US contract volumes (JERA, Tokyo Gas); the "
        "gap is supply lost before other suppliers respond, the cost is the extra import bill "
        "against the no-event baseline (negative: cheaper).</p>",
        _figure(charts.lng_suppliers(suppliers, year), "chart-lng-suppliers"),
    ]
    if scenarios.empty:
        parts.append("<p>No LNG scenario files were found.</p>")
        return parts
    parts += [
        _figure(charts.lng_gaps(results.tables["lng_monthly"]), "chart-lng-gaps"),
        _table(
            scenarios,
            [
                "scenario",
                "variant",
                "gap_t",
                "peak_gap_share",
                "months_bridged",
                "storage_exhausted",
                "extra_cost_usd",
                "supplier_hhi",
                "us_share",
                "russia_share",
            ],
        ),
    ]
    return parts


def render_html(results: ReportResults) -> str:
    """The whole report as one HTML string (deterministic: fixed chart ids, no timestamps)."""
    config = results.config
    esc = html.escape
    conc = results.tables["concentration"]
    gaps = results.tables["gaps"]
    gpr = results.tables["geopolrisk"]
    sources = results.tables["sources"]
    findings = "".join(f"<li>{esc(f)}</li>" for f in key_findings(results))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>critmin alliance report: {esc(config.alliance)} {config.year}</title>",
        f"<style>{CSS}</style>",
        f"<script type='text/javascript'>{plotly.offline.get_plotlyjs()}</script>",
        "</head><body>",
        f"<h1>Critical-minerals supply security: {esc(config.alliance)}, {config.year}</h1>",
        f"<p class='note'>Members: {esc(', '.join(results.members))}. Friendly partners: "
        f"{esc(config.friends)}. Commodities: {esc(', '.join(config.commodities))}. Every "
        "figure comes from the embedded data; the numbers behind each chart are in the results "
        "folder beside this file.</p>",
        f"<h2>Key findings</h2><ul class='findings'>{findings}</ul>",
        "<h2>Concentration by stage</h2>",
        "<p>Shares of world output at each stage of each chain. Separation, metal and magnet "
        "shares come from the curated tables (IEA, Adamas, USGS and others), mining and refining "
        "from World Mining Data; <code>ROW</code> is output the source does not attribute.</p>",
        _figure(charts.concentration_shares(conc, config.alliance), "chart-shares"),
        _figure(charts.concentration_hhi(conc), "chart-hhi"),
        _table(
            conc,
            [
                "commodity",
                "stage",
                "hhi",
                "top1_country",
                "top1_share",
                "top3_countries",
                "top3_share",
                "n_minus_1_residual",
                "share_CHN",
                f"share_{config.alliance}",
                "world",
                "unit",
            ],
        ),
        "<h2>GeoPolRisk of each ally</h2>",
        "<p>GeoPolRisk (Gemechu et al. 2016; Koyamparambath et al. 2024) as geopolrisk-py 2.0.1 "
        "computes it: production HHI times import risk (imports weighted by the exporters' WGI "
        "political stability). The group row pools the members; trade between them carries no "
        "risk.</p>",
        _figure(charts.geopolrisk_trend(gpr), "chart-geopolrisk"),
        _table(
            gpr[gpr["year"] == config.year],
            [
                "commodity",
                "importer",
                "hhi",
                "import_risk",
                "geopolrisk_score",
                "characterization_factor",
                "price_usd_per_kg",
            ],
        ),
        "<h2>Gaps: allied demand against allied capacity</h2>",
        f"<p>Demand is the members' apparent consumption; capacity is their own output plus the "
        f"surplus of {esc(config.friends)} partners; projects are those of the curated list "
        f"online by {config.horizon}. Method: docs/methods/metrics.md.</p>",
        _figure(charts.gaps_by_stage(gaps), "chart-gaps"),
        _table(
            gaps,
            [
                "commodity",
                "stage",
                "unit",
                "demand",
                "own_capacity",
                "friends_surplus",
                "gap",
                "gap_pct",
                "bottleneck",
                "projects_capacity",
                "gap_with_projects_pct",
                "projects",
            ],
        ),
        *_disruption_section(results),
        *_stockpile_section(results),
        *_portfolio_section(results),
        *_pricefloor_section(results),
        *_lng_section(results),
        "<h2>Data sources</h2>",
        _table(sources, ["dataset", "title", "publisher", "version", "licence", "url"]),
        "<h2>Run</h2>",
        f"<p class='note'>critmin {esc(version('critmin'))}; data version "
        f"{esc(str(results.data_version))}; settings: {esc(config.model_dump_json())}.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)
