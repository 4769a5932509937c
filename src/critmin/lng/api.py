"""Python API of the LNG model: run a scenario, and the same with or without the 2030 US
volumes (JERA up to 5.5 Mtpa, Tokyo Gas 1 Mtpa from Alaska LNG)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from critmin.lng.data import contracts
from critmin.lng.model import run
from critmin.lng.results import LngResult, build_result, extra_cost
from critmin.lng.scenario import Contract, LngScenario, LngSettings, load_lng_scenario
from critmin.simulation.scenario import CapacityAddition, Horizon

US_GULF, ALASKA = "us_gulf_new_trains", "alaska_lng"
US_START = "2030-01"  # assumption: "from about 2030"
VARIANTS = ("without_us_volumes", "with_us_volumes")


def baseline_of(lng: LngScenario) -> LngScenario:
    """``lng`` without events and without added contracts (its parameters kept)."""
    settings = LngSettings(importer=lng.lng.importer, parameters=lng.lng.parameters)
    return lng.model_copy(update={"events": [], "name": "baseline", "lng": settings})


def _add_months(month: str, delta: int) -> str:
    y, m = (int(x) for x in month.split("-"))
    total = y * 12 + (m - 1) + delta
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def shifted(lng: LngScenario, start: str) -> LngScenario:
    """``lng`` with its horizon starting at ``start`` (``YYYY-MM``) and every event month
    given as ``YYYY-MM`` moved by as much (months given as numbers are relative already);
    added contracts keep their calendar dates. E.g. a Sakhalin-2 stop in 2031, after the US
    volumes have arrived."""
    horizon = Horizon(start=start, months=lng.horizon.months)  # validates `start`
    y0, m0 = (int(x) for x in lng.horizon.start.split("-"))
    y1, m1 = (int(x) for x in start.split("-"))
    delta = (y1 - y0) * 12 + (m1 - m0)
    events = []
    for event in lng.events:
        update = {
            name: _add_months(value, delta)
            for name in ("start", "online")
            if isinstance(value := getattr(event, name, None), str)
        }
        events.append(event.model_copy(update=update))
    return lng.model_copy(update={"horizon": horizon, "events": events})


def structure_of(lng: LngScenario) -> LngScenario:
    """``lng`` with only its structural changes: capacity additions and added contracts
    (outages, export controls, demand shocks and releases removed)."""
    events = [e for e in lng.events if isinstance(e, CapacityAddition)]
    return lng.model_copy(update={"events": events})


def simulate_lng(lng: LngScenario, engine: str = "compiled") -> LngResult:
    """Run ``lng``, its baseline and its structure alone; monthly table, supplier shares and
    summary (``extra_cost_usd`` = ``disruption_cost_usd`` + ``structure_cost_usd``)."""
    result = build_result(lng.name, run(lng, engine), run(baseline_of(lng), engine))
    structure = run(structure_of(lng), engine)
    structural = float(extra_cost(structure, result.baseline).sum())
    result.summary["structure_cost_usd"] = structural
    result.summary["disruption_cost_usd"] = result.summary["extra_cost_usd"] - structural
    return result


def has_us_volumes(lng: LngScenario) -> bool:
    return any(c.us_2030 for c in lng.lng.contracts)


def without_us_volumes(lng: LngScenario) -> LngScenario:
    """``lng`` less the 2030 US contracts and the capacity events that serve only them."""
    dropped = [c for c in lng.lng.contracts if c.us_2030]
    events_used = {c.capacity_event for c in dropped} - {
        c.capacity_event for c in lng.lng.contracts if not c.us_2030
    }
    events = [e for e in lng.events if e.name is None or e.name not in events_used]
    kept = [c for c in lng.lng.contracts if not c.us_2030]
    return lng.model_copy(
        update={"events": events, "lng": lng.lng.model_copy(update={"contracts": kept})}
    )


def with_us_volumes(lng: LngScenario) -> LngScenario:
    """``lng`` plus the 2030 US volumes of ``contracts.csv`` (``us_2030``): new US trains
    (Gulf and Alaska) online from January 2030, ramped over 12 months, each contract served
    by them; unchanged if ``lng`` already has them."""
    if has_us_volumes(lng):
        return lng
    rows = contracts()
    rows = rows[rows["us_2030"]]
    alaska = rows["project"].str.contains("Alaska")
    added = [
        CapacityAddition(
            type="capacity_addition",
            name=name,
            country="USA",
            stage="liquefaction",
            tonnes_per_year=float(part["volume_mtpa"].sum()) * 1e6,
            online=US_START,
            ramp_months=12.0,
        )
        for name, part in ((US_GULF, rows[~alaska]), (ALASKA, rows[alaska]))
        if len(part)
    ]
    new = []
    for row in rows.to_dict(orient="records"):
        project = str(row["project"])
        in_alaska = "Alaska" in project
        new.append(
            Contract(
                name=f"{row['buyer']} {project}",
                seller=str(row["seller"]),
                buyer="JPN",
                volume_mtpa=float(row["volume_mtpa"]),
                start=US_START,
                end=f"{int(row['end'])}-01",
                capacity_event=ALASKA if in_alaska else US_GULF,
                route="USA-AK" if in_alaska else None,
                us_2030=True,
            )
        )
    return lng.model_copy(
        update={
            "events": [*lng.events, *added],
            "lng": lng.lng.model_copy(update={"contracts": [*lng.lng.contracts, *new]}),
        }
    )


@dataclass
class LngComparison:
    """A scenario without and with the 2030 US volumes; ``summary`` one row per variant."""

    without_us: LngResult
    with_us: LngResult

    def summary(self) -> pd.DataFrame:
        rows = []
        for variant, result in zip(VARIANTS, (self.without_us, self.with_us), strict=True):
            rows.append({"variant": variant, **result.summary})
        return pd.DataFrame(rows)

    def monthly(self) -> pd.DataFrame:
        parts = []
        for variant, result in zip(VARIANTS, (self.without_us, self.with_us), strict=True):
            parts.append(result.monthly.assign(variant=variant))
        frame = pd.concat(parts, ignore_index=True)
        return frame[["variant", *[c for c in frame.columns if c != "variant"]]]

    def suppliers(self) -> pd.DataFrame:
        a = self.without_us.suppliers.set_index("source")
        b = self.with_us.suppliers.set_index("source")
        out = pd.DataFrame(
            {
                "baseline_share": a["baseline_share"],
                "share_without_us_volumes": a["share"],
                "share_with_us_volumes": b["share"].reindex(a.index),
            }
        )
        return out.fillna(0.0).reset_index()


def compare_us_volumes(lng: LngScenario, engine: str = "compiled") -> LngComparison:
    """Run ``lng`` without and with the 2030 US volumes."""
    return LngComparison(
        without_us=simulate_lng(without_us_volumes(lng), engine),
        with_us=simulate_lng(with_us_volumes(lng), engine),
    )


def load_and_compare(path: Path | str, engine: str = "compiled") -> LngComparison:
    """Read an LNG scenario file and compare it without and with the 2030 US volumes."""
    return compare_us_volumes(load_lng_scenario(path), engine)
