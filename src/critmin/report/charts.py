"""The report's charts as Plotly figure specifications (``{"data": [...], "layout": {...}}``),
drawn in the page by Plotly's JavaScript.

Rules that keep them readable at any width (checked by the browser test): no chart title
inside the figure (the page's heading carries it, and wraps), short axis titles, legends above
the plot, margins that grow to fit tick labels (``automargin``), labels inside bars hidden
when they would be smaller than 10 px, time on date axes (horizontal ticks, thinned by
Plotly), and one row per bar in horizontal bar charts so value labels never stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import xarray as xr

from critmin.report import labels
from critmin.report.style import FONT, colour, pattern

HHI_MODERATE, HHI_HIGH = 1500.0, 2500.0  # US DOJ/FTC 2010 merger guidelines thresholds
ROW_PX = 34  # height of one bar row (two-line tick labels fit)
# fill patterns drawn over the bar's colour, faint enough to leave its labels readable
FAINT = {"fillmode": "overlay", "fgcolor": "#ffffff", "fgopacity": 0.4, "solidity": 0.2}
Figure = dict[str, Any]


def _values(values: Any) -> list[Any]:
    """Plain JSON values: floats, NaN as null."""
    return [None if labels.missing(v) else (v if isinstance(v, str) else float(v))
            for v in list(values)]  # fmt: skip


def _figure(data: list[dict[str, Any]], height: int, **layout: Any) -> Figure:
    base: dict[str, Any] = {
        "font": {"family": FONT, "size": 12, "color": "#222222"},
        "height": height,
        "autosize": True,
        "margin": {"l": 10, "r": 20, "t": 10, "b": 10},
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02,
                   "yanchor": "bottom"},
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "uniformtext": {"mode": "hide", "minsize": 10},
        "hoverlabel": {"namelength": -1},
        "xaxis": {"automargin": True, "gridcolor": "#e5e5e5", "zerolinecolor": "#999999"},
        "yaxis": {"automargin": True, "gridcolor": "#e5e5e5", "zerolinecolor": "#999999"},
    }
    for key, value in layout.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return {"data": data, "layout": base}


def _case_ticks(table: pd.DataFrame, bold: Sequence[bool] | None = None) -> list[str]:
    """Two-line labels ``Rare earths<br>magnets`` (bold where asked)."""
    ticks = []
    for position, (c, s) in enumerate(zip(table["commodity"], table["stage"], strict=True)):
        text = f"{labels.commodity(str(c))}<br>{labels.stage(str(s))}"
        ticks.append(f"<b>{text}</b>" if bold is not None and bold[position] else text)
    return ticks


def _bars_height(rows: int, per_row: float = ROW_PX) -> int:
    return int(90 + per_row * max(rows, 1))


def concentration_shares(table: pd.DataFrame, alliance: str) -> Figure:
    """China's, the alliance's and everyone else's share of world output at each stage; a
    share without data draws no bar (its output stays in the rest of the world)."""
    ticks = _case_ticks(table)
    china = table["share_CHN"].astype(float)
    allied = table[f"share_{alliance}"].astype(float)
    rest = (1.0 - china.fillna(0.0) - allied.fillna(0.0)).clip(lower=0.0)  # known shares only
    parts = (("China", "CHN", china), (alliance, "alliance", allied),
             ("rest of world (and any share without data)", "others", rest))  # fmt: skip
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": ticks,
            "x": _values(100 * values),
            "name": name,
            "marker": {"color": colour(key), "pattern": {"shape": pattern(key), **FAINT}},
            "text": [labels.percent(v) for v in values],
            "textposition": "inside",
            "insidetextanchor": "middle",
            "insidetextfont": {"color": "#ffffff" if key == "CHN" else "#111111"},
            "hovertemplate": "%{y}: %{x:.1f}% of world output<extra>" + name + "</extra>",
        }
        for name, key, values in parts
    ]
    return _figure(
        data,
        _bars_height(len(ticks)),
        barmode="stack",
        xaxis={"title": {"text": "% of world output"}, "range": [0, 100]},
        yaxis={"autorange": "reversed", "type": "category"},
    )


def concentration_hhi(table: pd.DataFrame) -> Figure:
    """HHI by stage on shaded DOJ/FTC bands (moderately and highly concentrated)."""
    ticks = _case_ticks(table)
    hhi = table["hhi"].astype(float)
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "orientation": "h",
            "y": ticks,
            "x": _values(hhi),
            "name": "HHI",
            "showlegend": False,
            "marker": {"color": colour("others")},
            "text": [labels.number(h) for h in hhi],
            "textposition": "auto",
            "hovertemplate": "%{y}: HHI %{x:,.0f}<extra></extra>",
        }
    ]
    bands = (("moderately concentrated (1,500-2,500)", HHI_MODERATE, HHI_HIGH, "#fdf0c4"),
             ("highly concentrated (above 2,500)", HHI_HIGH, 10_000.0, "#f9d9cf"))  # fmt: skip
    shapes = []
    for name, low, high, fill in bands:
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": low, "x1": high,
                       "y0": 0, "y1": 1, "fillcolor": fill, "line": {"width": 0},
                       "layer": "below"})  # fmt: skip
        data.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers",
                     "name": name, "hoverinfo": "skip",
                     "marker": {"symbol": "square", "size": 12, "color": fill,
                                "line": {"color": "#999999", "width": 1}}})  # fmt: skip
    return _figure(
        data,
        _bars_height(len(ticks)),
        shapes=shapes,
        xaxis={"title": {"text": "HHI (0-10,000)"}, "range": [0, 10_000]},
        yaxis={"autorange": "reversed", "type": "category"},
    )


def geopolrisk_scores(table: pd.DataFrame, alliance: str, year: int) -> Figure:
    """The alliance's pooled GeoPolRisk score per commodity in ``year``, highest first."""
    rows = table[(table["importer"] == alliance) & (table["year"] == year)]
    rows = rows.sort_values("geopolrisk_score", ascending=False)
    scores = rows["geopolrisk_score"].astype(float)
    return _figure(
        [
            {
                "type": "bar",
                "orientation": "h",
                "y": [labels.commodity(str(c)) for c in rows["commodity"]],
                "x": _values(scores),
                "name": alliance,
                "showlegend": False,
                "marker": {"color": colour("alliance")},
                "text": [labels.number(s, 2) for s in scores],
                "textposition": "auto",
                "hovertemplate": "%{y}: %{x:.3f}<extra>" + alliance + "</extra>",
            }
        ],
        _bars_height(len(rows), 26),
        xaxis={"title": {"text": "GeoPolRisk score (HHI x import risk)"}, "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "type": "category"},
    )


def gaps_by_stage(table: pd.DataFrame) -> Figure:
    """Gap in % of allied demand by stage, today (bars) and with pipeline projects
    (diamonds); bold labels mark each chain's bottleneck."""
    rows = table.dropna(subset=["gap_pct"])
    ticks = _case_ticks(rows, [bool(b) for b in rows["bottleneck"]])
    gap = rows["gap_pct"].astype(float)
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": ticks,
            "x": _values(gap.clip(-100, 100)),
            "name": "gap today",
            "marker": {"color": colour("CHN"), "pattern": {"shape": "/", **FAINT}},
            "insidetextfont": {"color": "#ffffff"},
            "text": [labels.percent(g / 100) for g in gap],
            "textposition": "inside",
            "insidetextanchor": "middle",
            "customdata": _values(gap),
            "hovertemplate": "%{y}: %{customdata:.0f}% of allied demand<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "y": ticks,
            "x": _values(rows["gap_with_projects_pct"].astype(float).clip(-100, 100)),
            "name": "with pipeline projects",
            "marker": {"symbol": "diamond", "size": 11, "color": colour("alliance")},
            "hovertemplate": "%{y}: %{x:.0f}% with projects<extra></extra>",
        },
    ]
    return _figure(
        data,
        _bars_height(len(ticks)),
        xaxis={"title": {"text": "gap, % of allied demand"}, "range": [-105, 105]},
        yaxis={"autorange": "reversed", "type": "category"},
    )


def _band(x: list[str], low: Any, mid: Any, high: Any, name: str, key: str, axis: str,
          dash: str = "solid", legend: bool = True) -> list[dict[str, Any]]:  # fmt: skip
    hex_colour = colour(key).lstrip("#")
    rgb = ",".join(str(int(hex_colour[i : i + 2], 16)) for i in (0, 2, 4))
    x_axis, y_axis = ("x", "y") if axis == "1" else ("x2", "y2")
    common = {"type": "scatter", "x": x, "xaxis": x_axis, "yaxis": y_axis}
    return [
        {**common, "y": _values(high), "mode": "lines", "line": {"width": 0},
         "showlegend": False, "hoverinfo": "skip"},
        {**common, "y": _values(low), "mode": "lines", "line": {"width": 0}, "fill": "tonexty",
         "fillcolor": f"rgba({rgb},0.22)", "name": f"{name} 5th-95th percentile",
         "legendgroup": f"{name}-band", "showlegend": legend, "hoverinfo": "skip"},
        {**common, "y": _values(mid), "mode": "lines", "name": f"{name} median",
         "line": {"color": colour(key), "width": 2.5, "dash": dash},
         "legendgroup": f"{name}-median", "showlegend": legend},
    ]  # fmt: skip


def disruption_fan(data: xr.Dataset, alliance: str, stage: str) -> Figure:
    """One scenario: the alliance's shortfall share (top) and price index (bottom) at
    ``stage`` by month, median with the 5th-95th percentile band; China's price dashed."""
    months = [f"{m}-01" for m in data["month"].to_numpy()]
    allied = data.sel(country=alliance, stage=stage)
    short = 100 * allied["shortfall_share"]
    traces = _band(months, short.sel(quantile=0.05), short.sel(quantile=0.5),
                   short.sel(quantile=0.95), alliance, "alliance", "1")  # fmt: skip
    price = allied["price_index"]
    traces += _band(months, price.sel(quantile=0.05), price.sel(quantile=0.5),
                    price.sel(quantile=0.95), alliance, "alliance", "2", legend=False)  # fmt: skip
    if "CHN" in data["country"]:
        china = data.sel(country="CHN", stage=stage)["price_index"]
        traces += _band(months, china.sel(quantile=0.05), china.sel(quantile=0.5),
                        china.sel(quantile=0.95), "China", "CHN", "2", dash="dash")  # fmt: skip
    axis = {"automargin": True, "gridcolor": "#e5e5e5", "type": "date", "tickformat": "%b %Y"}
    return _figure(
        traces,
        520,
        xaxis={**axis, "anchor": "y", "matches": "x2", "showticklabels": False},
        xaxis2={**axis, "anchor": "y2"},
        yaxis={"domain": [0.55, 1.0], "title": {"text": "shortfall, % of use"},
               "rangemode": "tozero"},
        yaxis2={"domain": [0.0, 0.45], "title": {"text": "price, x base"}, "automargin": True,
                "gridcolor": "#e5e5e5", "anchor": "x2"},
    )  # fmt: skip


def stockpile_holdings(holdings: pd.DataFrame) -> Figure:
    """Holdings in days of each ally's consumption, per ally and material: alone, joint and
    the rule of thumb."""
    names = {"alone": "each ally alone", "joint": "complementary (joint)", "rule": "rule of thumb"}
    shades = {"alone": "#999999", "joint": colour("alliance"), "rule": "#56B4E9"}
    shapes = {"alone": "", "joint": ".", "rule": "/"}
    present = [a for a in ("alone", "joint", "rule") if a in set(holdings["arrangement"])]
    largest = float(holdings["holding_days"].max()) if len(holdings) else 0.0
    data = []
    for name in present:
        part = holdings[holdings["arrangement"] == name]
        days = part["holding_days"].astype(float)
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": [f"{labels.country(str(a))}<br>{labels.stage(str(s))}"
                      for a, s in zip(part["ally"], part["stage"], strict=True)],
                "x": _values(days),
                "name": names[name],
                "marker": {"color": shades[name], "pattern": {"shape": shapes[name], **FAINT}},
                "text": [f"{labels.number(d, 2)} d" for d in days],
                "textposition": "outside",
                "cliponaxis": False,
                "customdata": _values(part["holding_t"]),
                "hovertemplate": "%{y}: %{x:.1f} days (%{customdata:,.0f} t)<extra>"
                + names[name] + "</extra>",
            }
        )  # fmt: skip
    cases = holdings[["ally", "stage"]].drop_duplicates()
    return _figure(
        data,
        _bars_height(len(cases), 22 * max(len(present), 1) + 12),
        barmode="group",
        xaxis={"title": {"text": "days of the ally's consumption"},
               "range": [0, max(largest * 1.2, 1.0)]},
        yaxis={"autorange": "reversed", "type": "category"},
    )  # fmt: skip


def portfolio_frontier(frontier: pd.DataFrame, objective: str) -> Figure:
    """What each budget level buys: the objective's improvement against the budget."""
    improvement = frontier["improvement"].astype(float)
    title = {"china_share": "fall in China's share (points)", "hhi": "fall in HHI",
             "shortfall": "shortfall avoided"}.get(objective, "improvement")  # fmt: skip
    if objective == "china_share":
        improvement = 100 * improvement
    return _figure(
        [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": _values(frontier["budget_usd"].astype(float) / 1e6),
                "y": _values(improvement),
                "name": "frontier",
                "showlegend": False,
                "line": {"color": colour("alliance"), "shape": "hv"},
                "marker": {"size": 8},
                "customdata": _values(frontier["projects"]),
                "hovertemplate": "budget %{x:,.0f} M USD: %{y:.2f}, %{customdata} projects"
                "<extra></extra>",
            }
        ],
        380,
        xaxis={"title": {"text": "budget of all parties, M USD"}},
        yaxis={"title": {"text": title}},
    )


def pricefloor_costs(annual: pd.DataFrame) -> Figure:
    """Expected (thick) and 95th-percentile (thin) payout per contract year, by regime."""
    dashes = {"none": "solid", "moderate": "dash", "severe": "dot"}
    shades = {"none": colour("alliance"), "moderate": colour("AUS"), "severe": colour("CHN")}
    data = []
    for regime, part in annual.groupby("dumping", sort=False):
        name = labels.DUMPING_NAMES.get(str(regime), str(regime))
        for column, label, width in (("expected_cost", "expected", 3), ("p95_cost", "P95", 1)):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "x": _values(part["year"]),
                    "y": _values(part[column].astype(float) / 1e6),
                    "name": f"{label}, {name}",
                    "line": {"color": shades.get(str(regime), "#555555"),
                             "dash": dashes.get(str(regime), "solid"), "width": width},
                    "hovertemplate": "year %{x}: %{y:,.1f} M USD<extra>" + f"{label}, {name}"
                    + "</extra>",
                }
            )  # fmt: skip
    return _figure(
        data,
        420,
        xaxis={"title": {"text": "contract year"}, "dtick": 1},
        yaxis={"title": {"text": "payout, M USD per year"}, "rangemode": "tozero"},
    )


def lng_suppliers(shares: pd.DataFrame, members: Sequence[str], top: int = 8) -> Figure:
    """One importer's LNG suppliers (share of tonnes), largest first; members of the
    alliance in its colour, Russia in China's, the rest grey."""
    rows = shares.head(top)
    colours = [colour("alliance") if s in members else colour("CHN") if s == "RUS"
               else colour("others") for s in rows["source"]]  # fmt: skip
    return _figure(
        [
            {
                "type": "bar",
                "orientation": "h",
                "y": [labels.country(str(s)) for s in rows["source"]],
                "x": _values(100 * rows["share"].astype(float)),
                "showlegend": False,
                "marker": {"color": colours},
                "text": [labels.percent(v) for v in rows["share"]],
                "textposition": "auto",
                "customdata": _values(rows["quantity_t"].astype(float) / 1e6),
                "hovertemplate": "%{y}: %{x:.1f}% (%{customdata:.2f} Mt)<extra></extra>",
            }
        ],
        _bars_height(len(rows), 26),
        xaxis={"title": {"text": "% of LNG imports (tonnes)"}, "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "type": "category"},
    )


def lng_gap(monthly: pd.DataFrame) -> Figure:
    """One LNG scenario: monthly gap (% of demand) without (solid) and with (dotted) the
    2030 US contract volumes."""
    data = []
    variants = (("without_us_volumes", "solid", "without US volumes", "JPN"),
                ("with_us_volumes", "dot", "with 2030 US volumes", "USA"))  # fmt: skip
    for variant, dash, name, key in variants:
        line = monthly[monthly["variant"] == variant]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": [f"{m}-01" for m in line["month"]],
                "y": _values(100 * line["gap_share"].astype(float)),
                "name": name,
                "line": {"color": colour(key), "dash": dash},
                "marker": {"size": 5},
                "hovertemplate": "%{x|%b %Y}: gap %{y:.1f}% of demand<extra>" + name
                + "</extra>",
            }
        )  # fmt: skip
    return _figure(
        data,
        300,
        xaxis={"type": "date", "tickformat": "%b %Y"},
        yaxis={"title": {"text": "gap, % of demand"}},
    )
