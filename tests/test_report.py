"""The alliance report: self-contained, deterministic, every number in the results folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from critmin.cli.app import app
from critmin.errors import InputError
from critmin.report import build_report, load_config, results_folder
from tests.browser_support import ARTIFACTS, CHROMIUM_ARGS, TIMEOUT_MS, chromium_path

runner = CliRunner()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    build_report(load_config(None), out, quiet=True)
    return out


SECTIONS = (
    "Key findings",
    "Concentration by stage",
    "GeoPolRisk of each ally",
    "Gaps: allied demand against allied capacity",
    "Disruption scenarios",
    "Stockpile: alone versus complementary",
    "Projects to fund: portfolio and frontier",
    "Price floor: what it costs",
    "Japan's LNG security",
    "Data sources",
    "Run",
)


def test_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert re.search(r"<script[^>]+src=", text) is None  # no external scripts
    assert re.search(r"<link[^>]+href=['\"]https?://", text) is None
    for heading in SECTIONS:
        assert f"<h2>{heading}</h2>" in text
    scenarios = len(list(Path("examples/scenarios").glob("*.yaml")))
    assert scenarios >= 2
    assert text.count('class="plotly-graph-div"') == 9 + scenarios


def test_results_folder_holds_every_table(report: Path) -> None:
    folder = results_folder(report)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["settings"]["alliance"] == "US-JP"
    assert manifest["members"] == ["USA", "JPN"]
    conc = pd.read_csv(folder / "concentration.csv")
    mining = conc[(conc["commodity"] == "rare_earths") & (conc["stage"] == "mining")].iloc[0]
    assert mining["hhi"] == pytest.approx(4861.5, abs=1)
    gaps = pd.read_csv(folder / "gaps.csv")
    assert gaps.loc[gaps["bottleneck"], "commodity"].is_unique
    assert f"{mining['hhi']:,.0f}" in report.read_text(encoding="utf-8")


def test_disruption_results(report: Path) -> None:
    folder = results_folder(report)
    summary = pd.read_csv(folder / "disruption_summary.csv").set_index("scenario")
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
    for path in results_folder(report).iterdir():
        assert (results_folder(again) / path.name).read_bytes() == path.read_bytes(), path.name


def test_config_file_changes_the_alliance(tmp_path: Path) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text("alliance: US-JP-AU\ncommodities: [rare_earths, lithium]\n")
    result = runner.invoke(
        app, ["report", "--config", str(config), "--out", str(tmp_path / "r.html"), "-q"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "r_results" / "manifest.json").read_text())
    assert manifest["members"] == ["USA", "JPN", "AUS"]
    conc = pd.read_csv(tmp_path / "r_results" / "concentration.csv")
    assert set(conc["commodity"]) == {"rare_earths", "lithium"}


def test_bad_settings_are_named(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("year: twenty\n")
    with pytest.raises(InputError, match="'year'"):
        load_config(config)
    config.write_text("alliance: US-JP\nbudget: 3\n")
    with pytest.raises(InputError, match="'budget'"):
        load_config(config)
    with pytest.raises(InputError, match=r"\.html"):
        build_report(load_config(None), tmp_path / "report.pdf", quiet=True)


@pytest.mark.browser
def test_report_renders_in_chromium_without_network(report: Path) -> None:
    """Every section and every chart renders from the file alone; no console error; the
    screenshot is kept in build/test-artifacts/report.png."""
    chromium = chromium_path()
    from playwright.sync_api import Route, sync_playwright

    charts = report.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    errors: list[str] = []
    requests: list[str] = []

    def only_the_file(route: Route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            requests.append(route.request.url)
            route.abort()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.route("**/*", only_the_file)
        page.goto(report.as_uri())
        page.wait_for_function(
            f"document.querySelectorAll('.plotly-graph-div .main-svg').length >= {charts}"
        )
        headings = page.locator("h2").all_inner_texts()
        rendered = page.evaluate(
            "Array.from(document.querySelectorAll('.plotly-graph-div'))"
            ".filter(d => d.querySelector('.main-svg') && d.getBoundingClientRect().height > 100)"
            ".length"
        )
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        browser.close()
    assert [h for h in SECTIONS if h not in headings] == []
    assert rendered == charts
    assert errors == []
    assert requests == []
    assert (ARTIFACTS / "report.png").stat().st_size > 50_000


def test_report_figures_match_the_engines(report: Path) -> None:
    """A sample of the numbers in the results folder, recomputed by other routes."""
    import critmin
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
    central = simulate(load_scenario(Path("examples/scenarios/china_ree_ban_usa_jpn.yaml")))
    engine = central.data["price_index"].sel(stage="magnet").to_pandas()
    for row in ban[ban["country"].isin(["USA", "JPN", "CHN"])].itertuples():
        assert row.price_index == pytest.approx(engine.loc[row.month, row.country], rel=1e-9)
    # stockpile: the value of cooperation is alone minus joint, and days are tonnes over use
    summary = pd.read_csv(folder / "stockpile_summary.csv").iloc[0]
    assert summary["value_of_cooperation_usd"] == pytest.approx(
        summary["alone_cost_usd"] - summary["joint_cost_usd"], rel=1e-9
    )
    costs = pd.read_csv(folder / "stockpile_costs.csv")
    assert costs["joint_cost_usd"].sum() == pytest.approx(summary["joint_cost_usd"], rel=1e-6)
    assert (costs["split_shapley_usd"] <= costs["alone_cost_usd"] + 1e-6).all()
    # portfolio and price floor: the same figures from the commands an analyst would run
    shipped = "examples/portfolio/china_share_separation.yaml"
    done = runner.invoke(app, ["portfolio", shipped, "--format", "json"])
    assert done.exit_code == 0, done.output
    portfolio = pd.read_csv(folder / "portfolio_summary.csv").iloc[0]
    assert portfolio["value"] == pytest.approx(json.loads(done.output)["objective"]["value"])
    done = runner.invoke(app, ["pricefloor", "--case", "none", "--floor", "110", "--years", "10",
                               "--volume-tpa", "1000", "--no-uncertainty", "--format", "json"])
    assert done.exit_code == 0, done.output
    floor = pd.read_csv(folder / "pricefloor_summary.csv").set_index("dumping")
    assert floor.loc["none", "expected_cost_usd"] == pytest.approx(
        json.loads(done.output)["expected_cost"], rel=1e-12
    )
    assert floor["expected_cost_usd"].is_monotonic_increasing  # none, moderate, severe
    # LNG: the scenario table equals critmin lng; shares from BACI; US volumes shrink the gap
    expiry = "examples/lng/sakhalin2_contract_expiry.yaml"
    done = runner.invoke(app, ["lng", "--scenario", expiry, "--format", "json"])
    assert done.exit_code == 0, done.output
    command = {r["variant"]: r for r in json.loads(done.output)["rows"]}
    lng = pd.read_csv(folder / "lng_scenarios.csv")
    for row in lng[lng["scenario"] == "sakhalin2_contract_expiry"].itertuples():
        assert row.gap_t == pytest.approx(command[row.variant]["gap_t"], rel=1e-12)
        assert row.extra_cost_usd == pytest.approx(command[row.variant]["extra_cost_usd"])
    assert command["with_us_volumes"]["gap_t"] < command["without_us_volumes"]["gap_t"]
    suppliers = pd.read_csv(folder / "lng_suppliers.csv").set_index("source")
    assert suppliers["share"].idxmax() == "AUS"
    assert suppliers["share"].sum() == pytest.approx(1.0)


def test_every_table_has_its_source(report: Path) -> None:
    folder = results_folder(report)
    manifest = json.loads((folder / "manifest.json").read_text())
    tables = {Path(name).stem for name in manifest["files"]}
    assert tables == set(manifest["table_sources"])
    for name, source in manifest["table_sources"].items():
        assert source["method"], name
        assert source["computed_by"].startswith("critmin."), name


def test_budgets_setting_changes_the_portfolio() -> None:
    from critmin.report.finance import portfolio_tables

    shipped = Path("examples/portfolio/china_share_separation.yaml")
    small = portfolio_tables(shipped, {"USA": 1.0e8, "JPN": 0.0})["portfolio_summary"].iloc[0]
    assert small["budget_usd"] == pytest.approx(1.0e8)
    assert small["fiscal_cost_usd"] <= 1.0e8 + 1e-6
    with pytest.raises(InputError, match=r"budgets\.KOR"):
        portfolio_tables(shipped, {"KOR": 1.0e8})
