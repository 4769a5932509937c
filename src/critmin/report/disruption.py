"""The report's disruption section: each scenario's ensemble as monthly quantile paths."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

from critmin.simulation import load_scenario
from critmin.simulation.paths import ensemble_paths


def scenario_paths(
    files: tuple[Path, ...], members: tuple[str, ...], alliance: str, samples: int, seed: int
) -> dict[str, xr.Dataset]:
    """Quantile paths of every scenario, keyed by scenario name (alliance pooled as a group)."""
    paths: dict[str, xr.Dataset] = {}
    for file in files:
        scenario = load_scenario(file)
        data = ensemble_paths(scenario, samples, seed, groups={alliance: members})
        data.attrs.update(description=scenario.description or "", file=file.name)
        paths[scenario.name] = data
    return paths


def paths_frame(paths: dict[str, xr.Dataset]) -> pd.DataFrame:
    """Long table: scenario, quantile, month, stage, country, shortfall_share, price_index."""
    frames = []
    for name, data in paths.items():
        frame = data[["shortfall_share", "price_index"]].to_dataframe().reset_index()
        frames.append(frame.assign(scenario=name))
    if not frames:
        return pd.DataFrame(
            columns=[
                "scenario",
                "quantile",
                "month",
                "stage",
                "country",
                "shortfall_share",
                "price_index",
            ]
        )
    table = pd.concat(frames, ignore_index=True)
    first = ["scenario", "quantile", "month", "stage", "country"]
    return table[first + [c for c in table.columns if c not in first]]


def scenario_summary(paths: dict[str, xr.Dataset], alliance: str) -> pd.DataFrame:
    """Per scenario: the alliance's worst stage, its peak shortfall share and price index."""
    rows = []
    for name, data in paths.items():
        allied = data.sel(country=alliance)
        median = allied["shortfall_share"].sel(quantile=0.5).max("month")
        stage = str(median.fillna(-1).idxmax("stage").item())
        at = allied.sel(stage=stage)
        china = data.sel(country="CHN", stage=stage) if "CHN" in data["country"] else None
        rows.append(
            {
                "scenario": name,
                "stage": stage,
                "peak_shortfall_share_p50": float(at["shortfall_share"].sel(quantile=0.5).max()),
                "peak_shortfall_share_p95": float(at["shortfall_share"].sel(quantile=0.95).max()),
                "peak_price_index_p50": float(at["price_index"].sel(quantile=0.5).max()),
                "peak_price_index_p95": float(at["price_index"].sel(quantile=0.95).max()),
                "china_price_index_p50_min": float(china["price_index"].sel(quantile=0.5).min())
                if china is not None
                else float("nan"),
                "samples": int(data.attrs["samples"]),
                "file": data.attrs["file"],
            }
        )
    return pd.DataFrame(rows)
