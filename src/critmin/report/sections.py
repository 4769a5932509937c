"""The report's sections as HTML: words, charts and tables with human labels and units."""

from __future__ import annotations

from typing import Any

from critmin.report import charts, labels
from critmin.report.markup import (
    Col,
    esc,
    figure,
    flag_cell,
    flags,
    link,
    not_computed,
    notes,
    paragraph,
    table,
)
from critmin.report.results import ReportResults
from critmin.report.summary import MODEL_FLAG

SECTIONS = {
    "findings": "Key findings",
    "concentration": "Concentration by stage",
    "geopolrisk": "GeoPolRisk of each ally",
    "gaps": "Gaps: allied demand against allied capacity",
    "disruption": "Disruption scenarios",
    "stockpile": "Stockpile: alone versus complementary",
    "portfolio": "Projects to fund: portfolio and frontier",
    "pricefloor": "Price floor: what it costs",
    "energy": "Energy security: LNG",
    "sources": "Data sources",
    "run": "Run",
}


def heading(key: str) -> str:
    return f"<h2 id='{key}'>{esc(SECTIONS[key])}</h2>"


def _get(name: str, show: Any = labels.number, **options: Any) -> Any:
    """A cell showing ``row[name]`` with ``show``."""
    return lambda row: show(row.get(name), **options)


def _commodity(row: dict[str, Any]) -> str:
    return labels.commodity(str(row["commodity"]))


def _stage(row: dict[str, Any]) -> str:
    return labels.stage(str(row["stage"]))


def _origin(origin: str, file: str, alliance: str) -> str:
    if origin == "yours":
        return f"Your file {file}, run as written."
    return f"Shipped example {file}, run for the members of {alliance} and the report's base " \
        "year (the inputs/ folder of the results holds the file as run)."


def concentration(results: ReportResults) -> list[str]:
    config = results.config
    conc = results.tables["concentration"]
    share = f"share_{config.alliance}"
    columns = [
        Col("Commodity", _commodity, True),
        Col("Stage", _stage, True),
        Col("HHI (0-10,000)", _get("hhi")),
        Col("Largest producer", lambda r: labels.country(str(r["top1_country"])), True),
        Col("Its share", _get("top1_share", labels.percent)),
        Col("Three largest", lambda r: labels.countries(str(r["top3_countries"]).split()), True),
        Col("Their share", _get("top3_share", labels.percent)),
        Col("Left if the largest stops", _get("n_minus_1_residual", labels.percent)),
        Col("China", _get("share_CHN", labels.percent)),
        Col(config.alliance, _get(share, labels.percent)),
        Col("World output", lambda r: labels.quantity(r.get("world"), str(r.get("unit", "")))),
        Col("Basis", lambda r: flag_cell(
            results.stage_flags.get((str(r["commodity"]), str(r["stage"])), []),
            "as reported by the source"), True, True),
    ]  # fmt: skip
    return [
        heading("concentration"),
        paragraph(
            f"Shares of world output at each stage of each chain in {config.year}. Mining and "
            "refining come from World Mining Data; separation, metal and magnet shares from the "
            "curated tables (IEA, USGS, company reports and others, each cited). Output that a "
            "source does not attribute to a country counts as rest of world."
        ),
        "<h3>Who produces each stage</h3>",
        figure("chart-shares", charts.concentration_shares(conc, config.alliance),
               "Shares of world output by stage"),
        "<h3>How concentrated each stage is (HHI)</h3>",
        paragraph(
            "Herfindahl-Hirschman index of country shares (0-10,000). Shaded: the US DOJ/FTC "
            "2010 thresholds, moderately (1,500-2,500) and highly (above 2,500) concentrated."
        ),
        figure("chart-hhi", charts.concentration_hhi(conc), "HHI by stage"),
        table(conc, columns),
    ]


def geopolrisk(results: ReportResults) -> list[str]:
    config = results.config
    gpr = results.tables["geopolrisk"]
    latest = gpr[gpr["year"] == config.year].sort_values(["commodity", "importer"])
    columns = [
        Col("Commodity", _commodity, True),
        Col("Importer", lambda r: labels.country(str(r["importer"])), True),
        Col("Production HHI (0-1)", _get("hhi")),
        Col("Import risk (0-1)", _get("import_risk")),
        Col("GeoPolRisk score", _get("geopolrisk_score")),
        Col("Characterisation factor", _get("characterization_factor")),
        Col("Price (USD/kg)", _get("price_usd_per_kg")),
    ]
    return [
        heading("geopolrisk"),
        paragraph(
            "GeoPolRisk (Gemechu et al. 2016; Koyamparambath et al. 2024) as geopolrisk-py 2.0.1 "
            "computes it: production HHI times import risk (imports weighted by the exporters' "
            f"political stability, World Bank WGI). {config.alliance} pools its members; trade "
            "between members carries no risk. The chart shows the pooled score; the table each "
            f"member in {config.year}."
        ),
        figure("chart-geopolrisk", charts.geopolrisk_scores(gpr, config.alliance, config.year),
               "GeoPolRisk score by commodity"),
        table(latest, columns),
    ]


def _gap_pct(row: dict[str, Any]) -> str:
    if labels.missing(row.get("demand")):
        return labels.number(None, reason="demand unknown: no trade data for this stage")
    if not float(row["demand"]) > 0:
        return labels.number(None, reason="no allied demand recorded")
    return labels.percent(float(row["gap_pct"]) / 100)


def gaps(results: ReportResults) -> list[str]:
    config = results.config
    gap = results.tables["gaps"]

    def amount(name: str) -> Any:
        return lambda r: labels.quantity(r.get(name), str(r.get("unit", "")))

    columns = [
        Col("Commodity", _commodity, True),
        Col("Stage", _stage, True),
        Col("Allied demand", amount("demand")),
        Col("Members' output", amount("own_capacity")),
        Col("Partners' surplus", amount("friends_surplus")),
        Col("Gap", amount("gap")),
        Col("Gap, % of demand", _gap_pct),
        Col("Bottleneck", _get("bottleneck", labels.flag_text)),
        Col(f"Projects by {config.horizon}", amount("projects_capacity")),
        Col("Gap with projects", lambda r: _gap_pct({**r, "gap_pct": r.get(
            "gap_with_projects_pct")})),
        Col("Projects", lambda r: "none" if labels.missing(r.get("projects"))
            else str(r["projects"]), True, True),
        Col("Basis of demand", lambda r: labels.number(None, reason="no trade data")
            if labels.missing(r.get("demand_basis")) else str(r["demand_basis"]), True, True),
    ]  # fmt: skip
    return [
        heading("gaps"),
        paragraph(
            f"Demand is the members' apparent consumption (output + imports - exports); "
            f"capacity is their own output plus the surplus of the {config.friends} partners; "
            f"projects are those of the cited pipeline online by {config.horizon}. A negative "
            "gap is a surplus; bars stop at ±100% (the table has every value). Bold labels "
            "mark each chain's bottleneck (docs/methods/metrics.md)."
        ),
        figure("chart-gaps", charts.gaps_by_stage(gap), "Gap by stage"),
        table(gap, columns),
    ]


def disruption(results: ReportResults) -> list[str]:
    config = results.config
    summary = results.tables["disruption_summary"]
    parts = [
        heading("disruption"),
        paragraph(
            f"Each scenario with random inputs is sampled {config.samples} times (seed "
            f"{config.seed}; one run when nothing is random) and run month by month through "
            "the market-clearing engine for the members of "
            f"{config.alliance}, from the {config.year} base year (docs/methods/simulation.md). "
            "Bands: 5th-95th percentile across draws; lines: medians. Shortfall is final use "
            "unmet at base prices; price is the index against the base price; China's price is "
            "dashed."
        ),
        flags([MODEL_FLAG]),
    ]
    if not results.scenarios:
        parts.append(paragraph("No scenario files were found: list them under scenarios: in "
                               "the settings file."))  # fmt: skip
        return parts
    for position, run in enumerate(results.scenarios):
        parts.append(f"<h3>{esc(run.title)}</h3>")
        parts.append(f"<p class='note'>{esc(_origin(run.origin, run.file, config.alliance))}"
                     "</p>")  # fmt: skip
        row = summary[summary["scenario"] == run.name].iloc[0]
        if run.paths is None or labels.missing(row.get("stage")):
            parts.append(not_computed("This scenario", run.reason or "no result"))
            continue
        stage = str(row["stage"])
        parts.append(
            f"<p class='caption'>{esc(config.alliance)} at its most affected stage, "
            f"{esc(labels.stage(stage))}.</p>"
        )
        parts.append(figure(f"chart-scenario-{position}",
                            charts.disruption_fan(run.paths, config.alliance, stage),
                            f"Shortfall and price: {run.title}"))  # fmt: skip
    done = summary[summary["computed"].astype(bool)]
    columns = [
        Col("Scenario", lambda r: str(r["title"]), True, True),
        Col("Most affected stage", _stage, True),
        Col("Peak shortfall, median", _get("peak_shortfall_share_p50", labels.percent)),
        Col("Peak shortfall, P95", _get("peak_shortfall_share_p95", labels.percent)),
        Col("Peak price, median (x base)", _get("peak_price_index_p50", digits=3)),
        Col("Peak price, P95 (x base)", _get("peak_price_index_p95", digits=3)),
        Col("China's lowest price, median (x base)", _get("china_price_index_p50_min")),
        Col("Draws", _get("samples")),
    ]
    if not done.empty:
        parts.append(table(done, columns))
    return parts


def _arrangement(row: dict[str, Any]) -> str:
    return labels.ARRANGEMENT_NAMES.get(str(row["arrangement"]), str(row["arrangement"]))


def stockpile(results: ReportResults) -> list[str]:
    section = results.stockpile
    config = results.config
    parts = [heading("stockpile")]
    if section is None or section.reason:
        reason = section.reason if section is not None else "not run"
        return [*parts, not_computed("The stockpile comparison", reason or "")]
    summary = results.tables["stockpile_summary"].iloc[0]
    holdings = results.tables["stockpile_holdings"]
    costs = results.tables["stockpile_costs"]
    allies = labels.countries(str(summary["allies"]).split())
    parts += [
        paragraph(
            f"Two-stage stochastic programme (linopy + HiGHS, docs/methods/stockpile.md) for "
            f"{allies}: holdings chosen before a disruption, released and shared between allies "
            f"month by month in {summary['scenarios_kept']} representative shortfall scenarios "
            "of the simulation engine. Cost over the horizon (holding, damage of shortfalls, "
            f"freight): each ally alone {labels.usd(summary['alone_cost_usd'])}, complementary "
            f"{labels.usd(summary['joint_cost_usd'])}, rule of thumb "
            f"{labels.usd(summary['rule_cost_usd'])}. Value of cooperation "
            f"{labels.usd(summary['value_of_cooperation_usd'])}; value of the stochastic "
            f"solution {labels.usd(summary['value_of_stochastic_solution_usd'])}; expected "
            "value of perfect information "
            f"{labels.usd(summary['expected_value_of_perfect_information_usd'])}."
        ),
        f"<p class='note'>{esc(_origin(section.origin, section.file, config.alliance))}</p>",
        flags(section.flags),
        figure("chart-stockpile", charts.stockpile_holdings(holdings),
               "Stockpile holdings in days of consumption"),
        table(holdings, [
            Col("Arrangement", _arrangement, True),
            Col("Ally", lambda r: labels.country(str(r["ally"])), True),
            Col("Material", _stage, True),
            Col("Holding (t)", _get("holding_t")),
            Col("Days of use", _get("holding_days")),
            Col("Expected shortfall (t)", _get("expected_shortfall_t")),
        ]),
        table(costs, [
            Col("Ally", lambda r: labels.country(str(r["ally"])), True),
            Col("Alone", _get("alone_cost_usd", labels.usd)),
            Col("Joint", _get("joint_cost_usd", labels.usd)),
            Col("Rule of thumb", _get("rule_cost_usd", labels.usd)),
            Col("Joint cost, proportional split", _get("split_proportional_usd", labels.usd)),
            Col("Joint cost, Shapley split", _get(
                "split_shapley_usd", labels.usd,
                reason="needs every coalition: computed for 2 to 5 allies")),
        ], "Cost of each ally over the horizon"),
        notes(section.notes, "The engine's notes on its basis"),
    ]  # fmt: skip
    return parts


def _budgets(spec: dict[str, Any]) -> str:
    return "; ".join(
        f"{labels.country(p)} {labels.usd(v.get('budget_usd'))}"
        for p, v in (spec.get("parties") or {}).items()
    )


def portfolio(results: ReportResults) -> list[str]:
    section = results.portfolio
    config = results.config
    parts = [heading("portfolio")]
    if section is None or section.reason or section.spec is None:
        reason = section.reason if section is not None else "not run"
        return [*parts, not_computed("The project portfolio", reason or "")]
    summary = results.tables["portfolio_summary"].iloc[0]
    metrics = results.tables["portfolio_metrics"]
    targets = len(section.spec.get("targets") or [])
    objective = str(summary["objective"])
    describe = {
        "china_share": f"China's share of output at the {targets} targeted stage(s), summed "
        f"(weights as in the file): from {labels.number(summary['baseline'], 3)} to "
        f"{labels.number(summary['value'], 3)}; per stage in the table below",
        "hhi": f"HHI of the targeted stage, from {labels.number(summary['baseline'])} to "
        f"{labels.number(summary['value'])}",
    }.get(objective, f"expected shortfall value, from {labels.usd(summary['baseline'])} to "
          f"{labels.usd(summary['value'])}")  # fmt: skip
    unfunded = (
        f" Members without a budget in the example, left out: "
        f"{labels.countries(section.unfunded)} (set budgets: in the settings file)."
        if section.unfunded else ""
    )  # fmt: skip
    parts += [
        paragraph(
            f"Mixed-integer programme (linopy + HiGHS, docs/methods/portfolio.md): projects of "
            "the cited pipeline and instruments (grant, loan, equity, offtake, price floor) "
            f"chosen within each party's budget ({_budgets(section.spec)}), the decision window "
            "and per-country limits, weighted by probability of success, for output in "
            f"{summary['target_year']} against the {summary['base_year']} base. Objective: "
            f"{describe}. Budget cost {labels.usd(summary['fiscal_cost_usd'])} of "
            f"{labels.usd(summary['budget_usd'])}; optimality gap "
            f"{labels.percent(summary['optimality_gap'])}.{unfunded}"
        ),
        f"<p class='note'>{esc(_origin(section.origin, section.file, config.alliance))}</p>",
        flags(section.flags),
        "<h3>What each budget level buys</h3>",
        figure("chart-portfolio",
               charts.portfolio_frontier(results.tables["portfolio_frontier"], objective),
               "Portfolio frontier"),
        table(results.tables["portfolio_selected"], [
            Col("Project", lambda r: str(r["project"]), True),
            Col("Country", lambda r: labels.country(str(r["country"])), True),
            Col("Commodity", _commodity, True),
            Col("Stage", _stage, True),
            Col("Party", lambda r: labels.country(str(r["party"])), True),
            Col("Instrument", lambda r: labels.INSTRUMENT_NAMES.get(
                str(r["instrument"]), str(r["instrument"])), True),
            Col("Amount", _get("amount_usd", labels.usd)),
            Col("Budget cost", _get("fiscal_cost_usd", labels.usd)),
            Col("Online", lambda r: str(r["online_year"])),
            Col("Expected output (t/yr)", _get("expected_t_per_year")),
            Col("Probability of success", _get("probability_of_success", labels.percent)),
        ], "Projects and instruments chosen"),
        table(metrics, [
            Col("Commodity", _commodity, True),
            Col("Stage", _stage, True),
            Col("Added output (t/yr)", _get("added_t_per_year")),
            Col("HHI before (0-10,000)", lambda r: labels.number(10_000 * r["hhi_before"])),
            Col("HHI after (0-10,000)", lambda r: labels.number(10_000 * r["hhi_after"])),
            Col("China's share before", _get("china_share_before", labels.percent)),
            Col("China's share after", _get("china_share_after", labels.percent)),
        ], f"Effect on each stage by {summary['target_year']}"),
        notes(section.notes, "The engine's notes on its basis"),
    ]  # fmt: skip
    return parts


def pricefloor(results: ReportResults) -> list[str]:
    summary = results.tables["pricefloor_summary"]
    first = summary.iloc[0]
    case = ("terms given in the report config" if first["case"] == "none"
            else f"reference case {first['case']}: critmin pricefloor --case {first['case']} "
            "lists its sources")  # fmt: skip
    level = labels.percent(first["interval_level"])
    return [
        heading("pricefloor"),
        paragraph(
            f"Monte Carlo valuation (docs/methods/pricefloor.md) of a floor of "
            f"{labels.floor_terms(first)} ({case}): a mean-reverting log price estimated from the "
            "embedded price history, without and with a dumping regime; "
            f"{labels.number(first['paths'])} paths, the same random numbers for each regime. "
            f"The interval ({level}) is that of the expected cost over "
            f"{labels.number(first['posterior_draws'])} draws of the price model's uncertain "
            "parameters. Thick lines: expected payout per year; thin lines: 95th percentile."
        ),
        flags(results.pricefloor_flags),
        figure("chart-pricefloor", charts.pricefloor_costs(results.tables["pricefloor_annual"]),
               "Price floor payout per year"),
        table(summary, [
            Col("Regime", lambda r: labels.DUMPING_NAMES.get(str(r["dumping"]),
                                                             str(r["dumping"])), True),
            Col("Expected cost", _get("expected_cost_usd", labels.usd)),
            Col(f"Interval ({level})", lambda r: f"{labels.usd(r['expected_cost_low_usd'])} - "
                f"{labels.usd(r['expected_cost_high_usd'])}"),
            Col("95th percentile", _get("p95_cost_usd", labels.usd)),
            Col("CVaR 95", _get("cvar95_cost_usd", labels.usd)),
            Col("Upside to the payer", _get("upside_receipts_usd", labels.usd)),
            Col("Present value", _get("present_value_usd", labels.usd)),
            Col("Probability of a payout", _get("probability_of_payout", labels.percent)),
            Col(f"Starting price ({first['unit']})", _get("reference_price_start")),
        ]),
    ]  # fmt: skip


def energy(results: ReportResults) -> list[str]:
    section = results.energy
    config = results.config
    parts = [heading("energy")]
    if section is None:
        return [*parts, not_computed("The energy section", "not run")]
    suppliers = results.tables["lng_suppliers"]
    importers = labels.countries(section.importers) or "none"
    parts.append(paragraph(
        f"LNG imports of each member of {config.alliance} by source in {config.year} (CEPII "
        f"BACI, HS 271111): {importers}."
        + (f" No LNG imports recorded for {labels.countries(section.without_imports)}."
           if section.without_imports else "")))  # fmt: skip
    for position, importer in enumerate(section.importers):
        part = suppliers[suppliers["importer"] == importer]
        parts.append(f"<h3>LNG suppliers of {esc(labels.country(importer))}, {config.year}</h3>")
        parts.append(figure(f"chart-lng-suppliers-{position}",
                            charts.lng_suppliers(part, results.members),
                            f"LNG suppliers of {labels.country(importer)}"))  # fmt: skip
    if not suppliers.empty:
        parts.append(table(suppliers, [
            Col("Importer", lambda r: labels.country(str(r["importer"])), True),
            Col("Supplier", lambda r: labels.country(str(r["source"])), True),
            Col("Quantity", lambda r: labels.quantity(r["quantity_t"], "t")),
            Col("Share", _get("share", labels.percent)),
            Col("Value", _get("value_usd", labels.usd)),
            Col("Unit value (USD/t)", _get("unit_value_usd_per_t")),
            Col("Supplier HHI", _get("supplier_hhi")),
        ]))  # fmt: skip
    parts.append("<h3>Japan's LNG scenarios</h3>")
    if section.reason:
        parts.append(not_computed("The LNG scenarios", section.reason))
        return parts
    scenarios = results.tables["lng_scenarios"]
    parts.append(paragraph(
        "Japan's LNG runs through the same network, scenario and clearing machinery as the "
        "minerals (docs/methods/lng.md): contracted and spot volumes, voyage times as "
        "delivery lags and storage in days of consumption. Each scenario runs without and "
        "with the 2030 US contract volumes (JERA, Tokyo Gas); the gap is supply lost before "
        "other suppliers respond, the change in the import bill is against the no-event "
        "baseline (negative: cheaper)."))  # fmt: skip
    parts.append(flags([MODEL_FLAG]))
    if scenarios.empty:
        parts.append(paragraph("No LNG scenario files were found."))
        return parts
    monthly = results.tables["lng_monthly"]
    for position, (name, title) in enumerate(
        scenarios[["scenario", "title"]].drop_duplicates().itertuples(index=False)
    ):
        parts.append(f"<h4>{esc(title)}</h4>")
        parts.append(figure(f"chart-lng-gap-{position}",
                            charts.lng_gap(monthly[monthly["scenario"] == name]),
                            f"LNG gap: {title}"))  # fmt: skip
    variant = {"without_us_volumes": "without US volumes", "with_us_volumes": "with US volumes"}
    parts.append(table(scenarios, [
        Col("Scenario", lambda r: str(r["title"]), True, True),
        Col("Variant", lambda r: variant.get(str(r["variant"]), str(r["variant"])), True),
        Col("Gap over the horizon", lambda r: labels.quantity(r["gap_t"], "t")),
        Col("Peak gap", _get("peak_gap_share", labels.percent)),
        Col("Months with a gap", _get("months_with_gap")),
        Col("Months bridged by storage", _get("months_bridged")),
        Col("Storage runs out", _get("storage_exhausted", labels.flag_text)),
        Col("Change in import bill", _get("extra_cost_usd", labels.usd)),
        Col("Supplier HHI", _get("supplier_hhi")),
        Col("US share", _get("us_share", labels.percent)),
        Col("Russia's share", _get("russia_share", labels.percent)),
    ]))  # fmt: skip
    return parts


def sources(results: ReportResults) -> list[str]:
    frame = results.tables["sources"]
    return [
        heading("sources"),
        paragraph(
            "The embedded datasets (checksums in the results folder's manifest). Every curated "
            "figure carries its own source, year and URL in the data files (critmin data "
            "sources; docs/data.md)."
        ),
        table(frame, [
            Col("Dataset", lambda r: str(r["dataset"]).replace("_", " "), True),
            Col("Title", lambda r: str(r["title"]), True, True),
            Col("Publisher", lambda r: str(r["publisher"]), True),
            Col("Version", lambda r: str(r["version"]), True),
            Col("Licence", lambda r: str(r["licence"]), True),
            Col("Source", lambda r: link(r.get("url")), True),
        ]),
    ]  # fmt: skip


def run(results: ReportResults, critmin_version: str) -> list[str]:
    config = results.config
    shipped = "the shipped examples, instantiated for the alliance and year"
    rows = [
        ("Alliance", f"{config.alliance}" + (f" ({results.alliance_name})"
                                             if results.alliance_name else "")),
        ("Members", labels.countries(results.members)),
        ("Friendly partners (gaps)", config.friends),
        ("Base year; projects online by", f"{config.year}; {config.horizon}"),
        ("Commodities", ", ".join(labels.commodity(c) for c in config.commodities)),
        ("Disruption scenarios", shipped if config.scenarios is None
         else ", ".join(p.name for p in config.scenarios)),
        ("Ensemble draws; seed", f"{config.samples}; {config.seed}"),
        ("Stockpile config", shipped if config.stockpile is None else config.stockpile.name),
        ("Portfolio config", shipped if config.portfolio is None else config.portfolio.name),
        ("Price floor", f"case {config.price_floor.case}; "
         f"{labels.number(config.price_floor.paths)} paths, "
         f"{labels.number(config.price_floor.draws)} posterior draws"),
        ("critmin; data version", f"{critmin_version}; {results.data_version}"),
        ("Results folder", "every table as CSV and JSON, what each engine ran (inputs/) and "
         "manifest.json, beside this file"),
    ]  # fmt: skip
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    return [heading("run"), f"<dl class='run'>{items}</dl>"]


def findings_list(findings: list[Any]) -> str:
    items = "".join(
        f"<li>{esc(f.text)} <span class='confidence confidence-{f.confidence}'>confidence: "
        f"{f.confidence}</span>" + (f" <span class='why'>{esc(f.why)}</span>" if f.why else "")
        + "</li>"
        for f in findings
    )
    return f"<ol class='findings'>{items}</ol>"


def header(results: ReportResults) -> list[str]:
    config = results.config
    commodity_names = ", ".join(labels.commodity(c) for c in config.commodities)
    members = labels.countries(results.members)
    return [
        f"<h1>Critical-minerals supply security: {esc(config.alliance)}, {config.year}</h1>",
        f"<p class='note'>{esc(results.alliance_name or config.alliance)}. Members: "
        f"{esc(members)}. Commodities: {esc(commodity_names)}. Every figure comes from the "
        "embedded data; the numbers behind each chart are in the results folder beside this "
        "file. Figures that rest on an assumption or a weak source carry a flag with the "
        "reason.</p>",
        "<nav class='toc' aria-label='Sections'><ol>"
        + "".join(f"<li><a href='#{k}'>{esc(v)}</a></li>" for k, v in SECTIONS.items())
        + "</ol></nav>",
    ]

