"""Plotly figures of the report. Each takes a result table and returns a Figure."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

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
