"""The portfolio and price-floor method pages: defaults and worked-example figures hold."""

from __future__ import annotations

from pathlib import Path

from critmin.analysis.pricefloor import estimate, posterior, reference_terms, value_floor
from critmin.optimisation.portfolio import load_config, solve_portfolio
from critmin.optimisation.portfolio.config import DEFAULT_INSTRUMENTS

ROOT = Path(__file__).resolve().parents[1]
PORTFOLIO = (ROOT / "docs" / "methods" / "portfolio.md").read_text(encoding="utf-8")
PRICEFLOOR = (ROOT / "docs" / "methods" / "pricefloor.md").read_text(encoding="utf-8")


def test_instrument_defaults_are_documented() -> None:
    names = {"price_floor": "price floor"}
    for name, spec in DEFAULT_INSTRUMENTS.items():
        row = next(
            ln for ln in PORTFOLIO.splitlines() if ln.startswith(f"| {names.get(name, name)} |")
        )
        cells = [c.strip() for c in row.split("|")[1:-1]]
        assert float(cells[1].split()[0]) == spec["fiscal_cost_per_usd"], name
        assert float(cells[2]) == spec["max_share_of_need"], name
        assert float(cells[3]) == spec["months_to_close"], name


def test_portfolio_worked_example() -> None:
    result = solve_portfolio(load_config(ROOT / "examples/portfolio/china_share_separation.yaml"))
    assert f"objective {result.objective['value']:.4f}" in PORTFOLIO
    assert f"USD {result.objective['fiscal_cost_usd'] / 1e6:,.1f} M" in PORTFOLIO
    assert result.objective["optimality_gap"] == 0.0


def test_pricefloor_worked_example() -> None:
    """The page's first table row: `critmin pricefloor` with its defaults."""
    process = estimate("ndpr_oxide")
    result = value_floor(process, reference_terms("dod_mp"), paths=100_000, seed=0,
                         posterior=posterior("ndpr_oxide", draws=1000, seed=0))  # fmt: skip
    band = result.uncertainty["expected_cost"]  # type: ignore[index]
    assert f"**US${result.expected_cost / 1e6:,.1f} M**" in PRICEFLOOR
    assert f"**{band['low'] / 1e6:,.1f} - {band['high'] / 1e6:,.1f} M**" in PRICEFLOOR
    assert f"{result.p95_cost / 1e6:,.1f} M | {result.cvar95_cost / 1e6:,.1f} M" in PRICEFLOOR
    assert f"{result.present_value / 1e6:,.1f} M |" in PRICEFLOOR
