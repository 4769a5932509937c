"""The report's disruption section: each scenario, run for the alliance and year, as monthly
quantile paths of shortfall and price, or the reason it could not be run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from critmin.errors import CritminError
from critmin.report import engines, labels
from critmin.report.alliance import NotForAlliance, scenario_for_alliance
from critmin.report.config import ReportConfig
from critmin.simulation.scenario import Licensing

PATH_COLUMNS = ["scenario", "quantile", "month", "stage", "country", "shortfall_share",
                "price_index"]  # fmt: skip


@dataclass
class ScenarioRun:
    """One scenario of the section: what ran (``spec``, the scenario file format) and its
    paths, or why it did not run (``reason``)."""

    name: str
    title: str
    origin: str  # "shipped" (adapted to the alliance) or "yours" (run as written)
    file: str
    spec: dict[str, Any] | None
    paths: xr.Dataset | None
    reason: str | None = None


def _amount(value: Any, kind: str) -> str:
    """A number or a distribution of the scenario format, in words."""
    show: Callable[[Any], str] = {
        "share": labels.percent,
        "months": lambda v: f"{float(v):g} months",
        "month": lambda v: f"month {v}" if isinstance(v, int | float) else str(v),
        "tonnes": lambda v: labels.number(v) + " t",
    }[kind]
    if not isinstance(value, dict):
        return str(show(value))
    dist = value.get("dist")
    if dist == "uniform":
        return f"{show(value['low'])} to {show(value['high'])}"
    if dist == "triangular":
        return f"{show(value['low'])} to {show(value['high'])} (most likely {show(value['mode'])})"
    if dist == "lognormal":
        return f"about {show(value['median'])}"
    if dist == "bernoulli":
        return f"with probability {labels.percent(value['p'])}"
    return str(value)


def _where(value: Any) -> str:
    if value in (None, "all"):
        return "every country"
    if isinstance(value, list):
        return labels.countries(value)
    return labels.country(str(value))


def event_words(event: dict[str, Any]) -> str:
    """One scenario event as a sentence fragment (the scenario file format, section 1 of
    docs/methods/simulation.md)."""
    kind = event.get("type")
    timing = ""
    if "start" in event:
        timing = f" from {_amount(event['start'], 'month')}"
    if "duration" in event:
        timing += f" for {_amount(event['duration'], 'months')}"
    if kind == "export_control":
        stages = ", ".join(labels.stage(s) for s in event.get("stages", []))
        text = (
            f"{_where(event.get('origin'))} blocks {_amount(event.get('fraction', 1.0), 'share')}"
            f" of its {stages} exports to {_where(event.get('destinations'))}{timing}"
        )
        licensing = event.get("licensing")
        if isinstance(licensing, dict):  # the scenario's defaults where a term is not given
            terms = {name: licensing.get(name, field.default)
                     for name, field in Licensing.model_fields.items()}  # fmt: skip
            text += (
                f", licensing {_amount(terms['pass_fraction'], 'share')} after "
                f"{_amount(terms['after_months'], 'months')}"
            )
    elif kind == "outage":
        text = (
            f"{_where(event.get('country'))} loses {_amount(event.get('fraction', 1.0), 'share')}"
            f" of its {labels.stage(str(event.get('stage')))} capacity{timing}"
        )
    elif kind == "demand_shock":
        sector = str(event.get("sector", "all")).replace("_", " ")
        text = (
            f"demand of {'every sector' if sector == 'all' else sector} changes by "
            f"{_amount(event.get('change'), 'share')} in {_where(event.get('country'))}{timing}"
        )
    elif kind == "capacity_addition":
        text = (
            f"new {labels.stage(str(event.get('stage')))} capacity in "
            f"{_where(event.get('country'))}: {_amount(event.get('tonnes_per_year'), 'tonnes')}"
            f"/yr from {event.get('online')}"
        )
    elif kind == "stockpile_release":
        text = (
            f"{_where(event.get('holder'))} releases {_amount(event.get('tonnes'), 'tonnes')} "
            f"of {labels.stage(str(event.get('stage')))} stock{timing}"
        )
    else:
        text = str(kind)
    occurs = event.get("occurs")
    if isinstance(occurs, dict):
        text += f" ({_amount(occurs, 'share')})"
    return text


def scenario_title(spec: dict[str, Any]) -> str:
    """What a scenario does, from its events: ``China blocks 100% of ... ; ...``."""
    events = spec.get("events") or []
    words = "; ".join(event_words(e) for e in events)
    return words[:1].upper() + words[1:] if words else "No events (the base market)"


def sampled(value: Any) -> bool:
    """Whether a scenario mapping has a random input (a ``dist`` anywhere in it)."""
    if isinstance(value, dict):
        return "dist" in value or any(sampled(v) for v in value.values())
    if isinstance(value, list):
        return any(sampled(v) for v in value)
    return False


def run_scenarios(config: ReportConfig, members: tuple[str, ...]) -> list[ScenarioRun]:
    """Every scenario of the settings (default: the shipped examples, adapted to the
    alliance and year), sampled ``config.samples`` times (run once when nothing in it is
    random: every draw would be the same)."""
    shipped = config.scenarios is None
    files = engines.shipped_scenarios() if shipped else tuple(config.scenarios or ())
    runs = []
    for file in files:
        raw = engines.read_mapping(Path(file), "scenario file")
        name = str(raw.get("name", Path(file).stem))
        run = ScenarioRun(name, str(raw.get("description", "")).strip(), "shipped" if shipped
                          else "yours", Path(file).name, None, None)  # fmt: skip
        try:
            if shipped:
                source = engines.members_of(str(raw.get("alliance", "US-JP")), config.groups_file)
                run.spec = scenario_for_alliance(raw, source, config.alliance, members, config.year)
            else:
                run.spec = dict(raw)
            adapted = run.spec.get("events") != raw.get("events")
            if adapted or not run.title:  # the file's description no longer fits
                run.title = scenario_title(run.spec)
            draws = config.samples if sampled(run.spec) else 1  # one outcome: one run
            run.paths = engines.scenario_paths(
                run.spec, draws, config.seed, {config.alliance: members}
            )
        except NotForAlliance as exc:
            run.reason = f"not run for {config.alliance}: {exc}"
        except CritminError as exc:
            if not shipped:
                raise
            run.reason = f"not computable for {config.alliance} in {config.year}: {exc}"
        runs.append(run)
    return runs


def paths_frame(runs: list[ScenarioRun]) -> pd.DataFrame:
    """Long table: scenario, quantile, month, stage, country, shortfall_share, price_index."""
    frames = [
        run.paths[["shortfall_share", "price_index"]].to_dataframe().reset_index()
        .assign(scenario=run.name)
        for run in runs
        if run.paths is not None
    ]  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=PATH_COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    return table[PATH_COLUMNS + [c for c in table.columns if c not in PATH_COLUMNS]]


def scenario_summary(runs: list[ScenarioRun], alliance: str) -> pd.DataFrame:
    """Per scenario: the alliance's worst stage, its peak shortfall share and price index
    (median and P95 over the draws), China's lowest median price index; or the reason."""
    rows = []
    for run in runs:
        row: dict[str, Any] = {"scenario": run.name, "title": run.title, "origin": run.origin,
                               "file": run.file, "computed": run.paths is not None,
                               "reason": run.reason or "",
                               "commodity": (run.spec or {}).get("commodity", "")}  # fmt: skip
        data = run.paths
        if data is not None and alliance in data["country"]:
            allied = data.sel(country=alliance)
            median = allied["shortfall_share"].sel(quantile=0.5).max("month")
            stage = str(median.fillna(-1).idxmax("stage").item())
            at = allied.sel(stage=stage)
            china = data.sel(country="CHN", stage=stage) if "CHN" in data["country"] else None
            row.update(
                stage=stage,
                peak_shortfall_share_p50=float(at["shortfall_share"].sel(quantile=0.5).max()),
                peak_shortfall_share_p95=float(at["shortfall_share"].sel(quantile=0.95).max()),
                peak_price_index_p50=float(at["price_index"].sel(quantile=0.5).max()),
                peak_price_index_p95=float(at["price_index"].sel(quantile=0.95).max()),
                china_price_index_p50_min=float(china["price_index"].sel(quantile=0.5).min())
                if china is not None
                else float("nan"),
                samples=int(data.attrs["samples"]),
            )
        rows.append(row)
    return pd.DataFrame(rows)
