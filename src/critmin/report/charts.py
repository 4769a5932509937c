"""Plotly figures of the report. Each takes a result table and returns a Figure."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import xarray as xr
from plotly.subplots import make_subplots

from critmin.report.style import FONT, colour, pattern

HHI_MODERATE, HHI_HIGH = 1500.0, 2500.0  # US DOJ/FTC 2010 merger guidelines thresholds


def _layout(figure: go.Figure, title: str, height: int) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0.0},
        font={"family": FONT, "size": 12},
        height=height,
        margin={"l": 160, "r": 30, "t": 60, "b": 50},
        legend={"orientation": "h", "y": -0.12},
        plot_bgcolor="white",
    )
    figure.update_xaxes(gridcolor="#e5e5e5", zeroline=True, zerolinecolor="#999999")
    return figure


def _case_labels(table: pd.DataFrame) -> list[str]:
    return [f"{c} · {s}" for c, s in zip(table["commodity"], table["stage"], strict=True)]


def concentration_shares(table: pd.DataFrame, alliance: str) -> go.Figure:
    """China's, the alliance's and everyone else's share of world output at each stage."""
    labels = _case_labels(table)
    china = table["share_CHN"].to_numpy()
    allied = table[f"share_{alliance}"].to_numpy()
    rest = 1.0 - china - allied
    figure = go.Figure()
    for name, key, values in (("China", "CHN", china), (alliance, "alliance", allied),
                              ("rest of world", "others", rest)):  # fmt: skip
        figure.add_bar(
            y=labels,
            x=100 * values,
            name=name,
            orientation="h",
            marker={"color": colour(key), "pattern": {"shape": pattern(key)}},
            text=[f"{v:.0%}" if v >= 0.05 else "" for v in values],
            textposition="inside",
            hovertemplate="%{y}: %{x:.1f}% of world output<extra>" + name + "</extra>",
        )
    figure.update_layout(barmode="stack")
    figure.update_xaxes(title="share of world output (%)", range=[0, 100])
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, "Who produces each stage", 40 + 26 * len(labels))


def concentration_hhi(table: pd.DataFrame) -> go.Figure:
    """HHI by stage against the DOJ/FTC concentration thresholds, N-1 residual on hover."""
    labels = _case_labels(table)
    figure = go.Figure(
        go.Bar(
            y=labels,
            x=table["hhi"],
            orientation="h",
            marker={"color": colour("others")},
            text=[f"{h:,.0f}" for h in table["hhi"]],
            textposition="outside",
            customdata=table[["top1_country", "n_minus_1_residual"]].to_numpy(),
            hovertemplate="%{y}: HHI %{x:,.0f}; largest %{customdata[0]}; "
            "left if it stops: %{customdata[1]:.0%}<extra></extra>",
            showlegend=False,
        )
    )
    for level, label in ((HHI_MODERATE, "moderately"), (HHI_HIGH, "highly concentrated")):
        figure.add_vline(x=level, line_dash="dash", line_color="#555555",
                         annotation_text=label, annotation_position="top")  # fmt: skip
    figure.update_xaxes(title="HHI (0-10,000)", range=[0, 10_500])
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, "Concentration of each stage (HHI)", 40 + 26 * len(labels))


def geopolrisk_trend(table: pd.DataFrame) -> go.Figure:
    """GeoPolRisk score of each importer, one line per commodity, 2018-2024."""
    figure = go.Figure()
    dashes = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
    importers = list(dict.fromkeys(table["importer"]))
    for commodity_id, part in table.groupby("commodity", sort=True):
        for position, importer in enumerate(importers):
            rows = part[part["importer"] == importer].sort_values("year")
            figure.add_scatter(
                x=rows["year"],
                y=rows["geopolrisk_score"],
                mode="lines+markers",
                name=f"{commodity_id} · {importer}",
                line={
                    "color": colour(importer if importer in ("USA", "JPN") else "alliance"),
                    "dash": dashes[position % len(dashes)],
                },
                legendgroup=str(commodity_id),
                visible=True if commodity_id in ("rare_earths", "cobalt") else "legendonly",
            )
    figure.update_yaxes(title="GeoPolRisk score (HHI x import risk)")
    figure.update_xaxes(title="year", dtick=1)
    return _layout(figure, "GeoPolRisk of each ally (click the legend to add commodities)", 480)


def gaps_by_stage(table: pd.DataFrame) -> go.Figure:
    """Gap in % of allied demand by stage, today and with the pipeline projects."""
    rows = table.dropna(subset=["gap_pct"])
    labels = _case_labels(rows)
    figure = go.Figure()
    figure.add_bar(
        y=labels,
        x=rows["gap_pct"].clip(-100, 100),
        orientation="h",
        name="gap today",
        marker={"color": colour("CHN"), "pattern": {"shape": "/"}},
        text=[
            f"{g:.0f}%" + (" ◀ bottleneck" if b else "")
            for g, b in zip(rows["gap_pct"], rows["bottleneck"], strict=True)
        ],
        textposition="outside",
    )
    figure.add_scatter(
        y=labels,
        x=rows["gap_with_projects_pct"].clip(-100, 100),
        mode="markers",
        name="with pipeline projects",
        marker={"symbol": "diamond", "size": 11, "color": colour("alliance")},
    )
    figure.update_xaxes(title="gap, % of allied demand (negative: surplus; clipped at ±100)",
                        range=[-110, 140])  # fmt: skip
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, "Where allied capacity falls short", 60 + 30 * len(labels))


def _band(figure: go.Figure, x: list[str], low: object, mid: object, high: object,
          name: str, key: str, column: int, dash: str = "solid",
          legend: bool = True) -> None:  # fmt: skip
    hex_colour = colour(key).lstrip("#")
    rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))
    figure.add_scatter(x=x, y=high, mode="lines", line={"width": 0}, showlegend=False,
                       hoverinfo="skip", row=1, col=column)  # fmt: skip
    figure.add_scatter(
        x=x, y=low, mode="lines", line={"width": 0}, fill="tonexty",
        fillcolor=f"rgba({rgb[0]},{rgb[1]},{rgb[2]},0.22)", name=f"{name} P5-P95",
        legendgroup=f"{name}-band", showlegend=legend, row=1, col=column,
    )  # fmt: skip
    figure.add_scatter(x=x, y=mid, mode="lines", name=f"{name} median",
                       line={"color": colour(key), "width": 2.5, "dash": dash},
                       legendgroup=f"{name}-median", showlegend=legend,
                       row=1, col=column)  # fmt: skip


def disruption_fan(data: xr.Dataset, alliance: str, stage: str, title: str) -> go.Figure:
    """Fan chart of one scenario: shortfall share and price index by month, P5-P50-P95."""
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=(f"{alliance} shortfall at {stage} (% of use)",
                                        f"price index at {stage} (base = 1)"),
    )  # fmt: skip
    months = [str(m) for m in data["month"].to_numpy()]
    allied = data.sel(country=alliance, stage=stage)
    short = 100 * allied["shortfall_share"]
    _band(figure, months, short.sel(quantile=0.05), short.sel(quantile=0.5),
          short.sel(quantile=0.95), alliance, "alliance", 1)  # fmt: skip
    price = allied["price_index"]
    _band(figure, months, price.sel(quantile=0.05), price.sel(quantile=0.5),
          price.sel(quantile=0.95), alliance, "alliance", 2, legend=False)  # fmt: skip
    if "CHN" in data["country"]:
        china = data.sel(country="CHN", stage=stage)["price_index"]
        _band(figure, months, china.sel(quantile=0.05), china.sel(quantile=0.5),
              china.sel(quantile=0.95), "China", "CHN", 2, dash="dash")  # fmt: skip
    figure.update_yaxes(title="% of final use unmet", rangemode="tozero", row=1, col=1)
    figure.update_yaxes(title="price / base price", row=1, col=2)
    figure.update_layout(margin={"l": 60, "r": 20, "t": 70, "b": 60})
    return _layout(figure, title, 380).update_layout(margin={"l": 60})


def stockpile_holdings(holdings: pd.DataFrame) -> go.Figure:
    """Holdings in days of each ally's consumption, per material, alone / joint / rule."""
    arrangements = [a for a in ("alone", "joint", "rule") if a in set(holdings["arrangement"])]
    labels = {"alone": "each ally alone", "joint": "complementary (joint)", "rule": "60 days"}
    shapes = {"alone": "", "joint": ".", "rule": "/"}
    shades = {"alone": "#999999", "joint": colour("alliance"), "rule": "#56B4E9"}
    figure = go.Figure()
    for name in arrangements:
        part = holdings[holdings["arrangement"] == name]
        figure.add_bar(
            x=[f"{a} · {m}" for a, m in zip(part["ally"], part["material"], strict=True)],
            y=part["holding_days"],
            name=labels[name],
            marker={"color": shades[name], "pattern": {"shape": shapes[name]}},
            text=[f"{d:.0f} d" for d in part["holding_days"]],
            textposition="outside",
            customdata=part[["holding_t"]].to_numpy(),
            hovertemplate="%{x}: %{y:.1f} days of consumption (%{customdata[0]:,.0f} t)"
            "<extra>" + labels[name] + "</extra>",
        )
    figure.update_layout(barmode="group")
    figure.update_yaxes(title="holding (days of the ally's consumption)", gridcolor="#e5e5e5")
    figure = _layout(figure, "Stockpile holdings: alone, complementary, rule of thumb", 420)
    figure.update_layout(margin={"l": 70})
    return figure


def portfolio_frontier(frontier: pd.DataFrame, unit: str) -> go.Figure:
    """Cost-versus-risk frontier: the objective's improvement at each budget level."""
    figure = go.Figure(
        go.Scatter(
            x=frontier["budget_usd"] / 1e6,
            y=frontier["improvement"],
            mode="lines+markers+text",
            line={"color": colour("alliance"), "shape": "hv"},
            marker={"symbol": "circle", "size": 8},
            text=[str(n) for n in frontier["projects"]],
            textposition="top left",
            customdata=(frontier[["fiscal_cost_usd"]] / 1e6).to_numpy(),
            hovertemplate="budget %{x:,.0f} M USD (spent %{customdata[0]:,.0f} M): "
            "improvement %{y:.4f}<extra>labels: projects chosen</extra>",
            showlegend=False,
        )
    )
    figure.update_xaxes(title="budget of all parties (M USD)")
    figure.update_yaxes(title=f"improvement ({unit})", gridcolor="#e5e5e5")
    figure = _layout(figure, "Project portfolio: what each budget buys (labels: projects)", 400)
    figure.update_layout(margin={"l": 80})
    return figure


def pricefloor_costs(annual: pd.DataFrame, unit_label: str) -> go.Figure:
    """Expected and P95 cost of the floor per contract year, for each dumping regime."""
    dashes = {"none": "solid", "moderate": "dash", "severe": "dot"}
    symbols = {"none": "circle", "moderate": "square", "severe": "diamond"}
    shades = {"none": colour("alliance"), "moderate": colour("AUS"), "severe": colour("CHN")}
    figure = go.Figure()
    for regime, part in annual.groupby("dumping", sort=False):
        name = str(regime)
        for column, label, width in (("expected_cost", "expected", 3), ("p95_cost", "P95", 1)):
            figure.add_scatter(
                x=part["year"],
                y=part[column] / 1e6,
                name=f"{label}, dumping {name}",
                mode="lines+markers",
                line={"color": shades.get(name, "#555555"), "dash": dashes.get(name, "solid"),
                      "width": width},
                marker={"symbol": symbols.get(name, "circle")},
                hovertemplate="year %{x}: %{y:,.1f} M USD<extra>" + f"{label}, {name}"
                + "</extra>",
            )  # fmt: skip
    figure.update_xaxes(title="contract year", dtick=1)
    figure.update_yaxes(title="payout by the floor's payer (M USD per year)", gridcolor="#e5e5e5")
    figure = _layout(figure, f"Price floor: cost per year ({unit_label})", 440)
    figure.update_layout(margin={"l": 80})
    return figure


def lng_suppliers(shares: pd.DataFrame, year: int) -> go.Figure:
    """Japan's LNG imports by source (share of tonnes), largest first."""
    top = shares.head(12)
    figure = go.Figure(
        go.Bar(
            y=top["source"],
            x=100 * top["share"],
            orientation="h",
            marker={
                "color": [colour(str(s)) for s in top["source"]],
                "pattern": {"shape": [pattern(str(s)) for s in top["source"]]},
            },
            text=[f"{v:.1%}" for v in top["share"]],
            textposition="outside",
            customdata=(top[["quantity_t"]] / 1e6).to_numpy(),
            hovertemplate="%{y}: %{x:.1f}% (%{customdata[0]:.2f} Mt)<extra></extra>",
            showlegend=False,
        )
    )
    figure.update_xaxes(title="share of Japan's LNG imports (%, tonnes)")
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, f"Japan's LNG suppliers, {year} (CEPII BACI, HS 271111)", 380)


def lng_gaps(monthly: pd.DataFrame) -> go.Figure:
    """Monthly gap (share of demand) of each LNG scenario, without (solid) and with (dotted)
    the 2030 US volumes."""
    palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
    symbols = ["circle", "square", "diamond", "triangle-up", "cross", "x"]
    figure = go.Figure()
    for index, (name, part) in enumerate(monthly.groupby("scenario", sort=False)):
        for variant, dash, label in (("without_us_volumes", "solid", "without"),
                                     ("with_us_volumes", "dot", "with")):  # fmt: skip
            line = part[part["variant"] == variant]
            figure.add_scatter(
                x=line["month"],
                y=100 * line["gap_share"],
                name=f"{name} ({label} 2030 US volumes)",
                mode="lines+markers",
                line={"color": palette[index % len(palette)], "dash": dash},
                marker={"symbol": symbols[index % len(symbols)], "size": 5},
                hovertemplate="%{x}: gap %{y:.1f}% of demand<extra>" + str(name) + "</extra>",
            )
    figure.update_yaxes(title="gap before other suppliers respond (% of demand)")
    figure.update_xaxes(title="month")
    figure = _layout(figure, "LNG scenarios: Japan's monthly supply gap", 480)
    figure.update_layout(margin={"l": 80}, legend={"orientation": "h", "y": -0.25})
    return figure
