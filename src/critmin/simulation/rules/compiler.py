"""Compile export-control rule files into monthly shocks for any horizon.

Two targets:

* the element chain (:mod:`critmin.simulation.elements`): for each (element, stage) the share
  of the base China -> rest-of-world flow still allowed each month, and the same for
  single-commodity markets (gallium, germanium);
* the commodity engine (:mod:`critmin.simulation.scenario`): ``export_control`` events with
  ``licensing`` for each active window of a measure.

Day by day a measure is active from ``start`` to ``expiry`` outside its suspensions; the
legal flow to covered destinations is 0 under a ban, ``quota / reference`` under a quota,
and under a licence 0 until the first approvals, then rising evenly to ``approval_rate``
once the processing time (with its spread) has passed. With ``s`` the covered
destinations' share of the exports, the allowed share is
``min(1, (1 - s + s x legal) x (1 + leakage))``; a month's value is the mean of its days.
Measures on the same flow multiply. A measure's ``announced`` date makes the announced
path known from that month on (:attr:`Compiled.known_from`): the gallium and germanium
markets then hold model-consistent expectations (:func:`~critmin.simulation.elements.single.
simulate_single`); the element chain and the commodity engine keep adaptive ones (a note says
so).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from critmin.errors import ScenarioError
from critmin.simulation.elements.model import MAGNET, Shocks
from critmin.simulation.rules.pipeline import (
    CALENDAR_PER_WORKING_DAY,
    Pipeline,
    decided_share,
    empty_pipeline,
    measure_pipeline,
)
from critmin.simulation.rules.schema import Measure, RuleFile

TO_MODEL = {
    "NdPr": "NdPr", "Nd": "NdPr", "Pr": "NdPr", "Dy": "Dy", "Tb": "Tb", "La": "La", "Ce": "Ce",
    **{el: "other" for el in ("Pm", "Sm", "Eu", "Gd", "Ho", "Er", "Tm", "Yb", "Lu", "Sc", "Y")},
}  # fmt: skip
"""Rule element -> element of the element chain."""

STAGE_OF = {"compound": "oxide", "oxide": "oxide", "metal": "metal", "alloy": "metal"}
"""Rule product -> stage of the element chain (``magnet`` handled apart)."""

ENGINE_STAGE = {"oxide": "separation", "metal": "metal", MAGNET: "magnet"}
COMMODITIES = {"Ga": ("gallium", "refining"), "Ge": ("germanium", "refining")}


def month_labels(start: str, months: int) -> list[str]:
    """``YYYY-MM`` of each month from ``start``."""
    y0, m0 = (int(x) for x in start.split("-"))
    out = []
    for k in range(months):
        total = m0 - 1 + k
        out.append(f"{y0 + total // 12:04d}-{total % 12 + 1:02d}")
    return out


def _days(label: str) -> list[dt.date]:
    y, m = (int(x) for x in label.split("-"))
    first = dt.date(y, m, 1)
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return [first + dt.timedelta(days=k) for k in range((nxt - first).days)]


def _active(measure: Measure, day: dt.date) -> bool:
    if day < measure.start or (measure.expiry is not None and day > measure.expiry):
        return False
    return not any(w.start <= day <= w.end for w in measure.suspended)


def _legal(measure: Measure, day: dt.date) -> float:
    """Share of the flow to covered destinations that is legal on ``day``."""
    if measure.kind == "ban":
        return 0.0
    if measure.kind == "quota":
        assert measure.quota is not None
        return min(measure.quota.tonnes_per_year / measure.quota.reference_tonnes_per_year, 1.0)
    assert measure.licence is not None
    started = float((day - measure.start).days)
    return measure.licence.approval_rate * float(decided_share(measure.licence, np.array(started)))


def covered_share(measure: Measure, key: str, shares: dict[str, float] | None = None) -> float:
    """Share of China's exports of ``key`` that go to the measure's destinations."""
    if measure.destinations == "all":
        return 1.0
    known = {**(shares or {}), **measure.destination_shares}
    total = 0.0
    for dest in measure.destinations:
        if dest not in known:
            raise ScenarioError(
                f"measure {measure.id}: destination_shares.{dest}: the share of {dest} in "
                f"China's exports of {key} is not known; give it under destination_shares"
            )
        total += known[dest]
    return min(total, 1.0)


def allowed_path(
    measure: Measure, labels: list[str], share: float, coverage: float = 1.0
) -> np.ndarray:
    """Monthly allowed share of the base flow under one measure (1 = unrestricted)."""
    out = np.ones(len(labels))
    for k, label in enumerate(labels):
        days = _days(label)
        total = 0.0
        for day in days:
            if _active(measure, day):
                legal = (1.0 - share) + share * _legal(measure, day)
                allowed = min(legal * (1.0 + measure.leakage), 1.0)
                total += 1.0 - coverage * (1.0 - allowed)
            else:
                total += 1.0
        out[k] = total / len(days)
    return out


@dataclass
class Compiled:
    """Monthly allowed shares per flow and the notes of what was not modelled."""

    labels: list[str]
    allowed: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    commodity: dict[str, np.ndarray] = field(default_factory=dict)
    pipeline: dict[tuple[str, str], Pipeline] = field(default_factory=dict)
    """Licence pipeline of each flow of ``allowed`` a licence covers (:mod:`pipeline`)."""
    commodity_pipeline: dict[str, Pipeline] = field(default_factory=dict)
    """The same for the single-commodity markets (keys of ``commodity``)."""
    notes: list[str] = field(default_factory=list)
    known_from: int | None = None
    """Month (index) of the earliest ``announced`` date, 0 if before the horizon; None
    without one in the horizon: from it on, the announced path is known."""

    def _announce(self, rule: str, measure: Measure) -> None:
        if measure.announced is None:
            return
        label = measure.announced.strftime("%Y-%m")
        if label > self.labels[-1]:
            return
        month = 0 if label < self.labels[0] else self.labels.index(label)
        if self.known_from is None or month < self.known_from:
            self.known_from = month
        self.notes.append(
            f"{rule}/{measure.id}: announced {measure.announced}: known in advance only to the "
            "gallium and germanium markets; the element chain and the commodity engine keep "
            "adaptive expectations"
        )

    def shocks(self) -> Shocks:
        """The element chain's inputs: allowed shares and licence pipelines."""
        held = {key: pipe.net for key, pipe in self.pipeline.items()}
        return Shocks(months=len(self.labels), allowed=self.allowed, held=held)

    def _apply(self, store: dict[Any, np.ndarray], key: Any, path: np.ndarray) -> None:
        store[key] = store.get(key, np.ones(len(self.labels))) * path

    def _hold(
        self, store: dict[Any, Pipeline], key: Any, measure: Measure, coverage: float,
        month_of_day: np.ndarray, days: list[dt.date],
    ) -> None:
        """Add a licence measure's pipeline on ``key`` (pipelines of measures on the same
        flow add up: each files for the flow it covers)."""
        if measure.kind != "licence":
            return
        active = np.array([_active(measure, d) for d in days])
        pipe = measure_pipeline(measure, month_of_day, coverage, active)
        store[key] = store.get(key, empty_pipeline(len(self.labels))) + pipe


def compile_rules(
    rules: Iterable[RuleFile],
    start: str,
    months: int,
    shares: dict[str, dict[str, float]] | None = None,
    heavy_grade_share: float = 0.6,
) -> Compiled:
    """Allowed shares of China's exports, month by month, for the horizon.

    ``shares[stage][ISO3]`` are destinations' shares of China's exports at each stage
    (``oxide``, ``metal``, ``magnet``, ``Ga``, ``Ge``), used for country-specific measures.
    """
    labels = month_labels(start, months)
    out = Compiled(labels)
    shares = shares or {}
    days = [d for label in labels for d in _days(label)]
    month_of_day = np.repeat(np.arange(len(labels)), [len(_days(label)) for label in labels])
    for rule in rules:
        for m in rule.measures:
            out._announce(rule.name, m)
            done: set[tuple[str, str]] = set()
            for el in m.elements:
                if el in COMMODITIES:
                    share = covered_share(m, el, shares.get(el))
                    out._apply(out.commodity, el, allowed_path(m, labels, share))
                    out._hold(out.commodity_pipeline, el, m, share, month_of_day, days)
                    continue
                if el == "Sb":
                    out.notes.append(f"{rule.name}/{m.id}: antimony is not modelled")
                    continue
                model_el = TO_MODEL[el]
                for product in m.products:
                    if product == MAGNET:
                        continue
                    if product not in STAGE_OF:
                        note = f"{rule.name}/{m.id}: product {product!r} is not modelled"
                        if note not in out.notes:
                            out.notes.append(note)
                        continue
                    key = (model_el, STAGE_OF[product])
                    if key in done:
                        continue
                    done.add(key)
                    share = covered_share(m, key[1], shares.get(key[1]))
                    out._apply(out.allowed, key, allowed_path(m, labels, share))
                    out._hold(out.pipeline, key, m, share, month_of_day, days)
            if MAGNET in m.products:
                heavy = any(TO_MODEL.get(el) in ("Dy", "Tb") for el in m.elements)
                coverage = m.magnet_coverage
                if coverage is None:
                    coverage = heavy_grade_share if heavy else 1.0
                share = covered_share(m, MAGNET, shares.get(MAGNET))
                out._apply(out.allowed, (MAGNET, MAGNET), allowed_path(m, labels, share, coverage))
                out._hold(out.pipeline, (MAGNET, MAGNET), m, share * coverage, month_of_day, days)
            if m.de_minimis is not None:
                out.notes.append(
                    f"{rule.name}/{m.id}: de minimis {m.de_minimis:.2%} for foreign-made goods "
                    "applies to re-exports within the rest of the world, which the two-zone "
                    "model does not trace (no effect on its flows)"
                )
    return out


def _windows(measure: Measure, labels: list[str]) -> list[tuple[int, int]]:
    """(first month, months) of each run of months in which the measure is active."""
    active = [any(_active(measure, d) for d in _days(lab)) for lab in labels]
    runs, k = [], 0
    while k < len(active):
        if active[k]:
            j = k
            while j < len(active) and active[j]:
                j += 1
            runs.append((k + 1, j - k))
            k = j
        else:
            k += 1
    return runs


def stage_shares(measure: Measure, heavy_grade_share: float = 0.6) -> dict[str, float]:
    """Share of China's base exports at each rare-earth engine stage the measure covers.

    The commodity engine has one good per stage (t REO, t metal, t NdFeB); a measure on some
    elements covers their share of China's net exports of that stage in the element chain's
    base state (t), and ``magnet_coverage`` of magnets.
    """
    from critmin.simulation.elements.chain import calibrate

    base = calibrate()
    controlled = {TO_MODEL[el] for el in measure.elements if el in TO_MODEL}
    out: dict[str, float] = {}
    for stage in sorted({STAGE_OF[p] for p in measure.products if p in STAGE_OF}):
        flows = {
            el: max(base.oxide_flow(el) if stage == "oxide" else base.metal_flow(el), 0.0)
            for el in (base.elements if stage == "oxide" else base.magnet_elements)
        }
        total = sum(flows.values())
        if total > 0:
            out[ENGINE_STAGE[stage]] = sum(v for el, v in flows.items() if el in controlled) / total
    if MAGNET in measure.products:
        coverage = measure.magnet_coverage
        if coverage is None:
            coverage = heavy_grade_share if controlled & {"Dy", "Tb"} else 1.0
        out["magnet"] = coverage
    return out


def to_events(rule: RuleFile, start: str, months: int) -> list[dict[str, Any]]:
    """``export_control`` events of the commodity engine (scenario files) for the horizon.

    One event per commodity, engine stage and active window; ``fraction`` is the covered
    share of China's exports at that stage (:func:`stage_shares`; 1 for gallium and
    germanium) times what the measure blocks; licences pass ``approval_rate x (1 + leakage)``
    of it after the processing time.
    """
    labels = month_labels(start, months)
    events: list[dict[str, Any]] = []
    for m in rule.measures:
        targets: list[tuple[str, str, float]] = []
        for el in m.elements:
            if el in COMMODITIES:
                commodity, stage = COMMODITIES[el]
                targets.append((commodity, stage, 1.0))
        if any(el in TO_MODEL for el in m.elements):
            targets += [("rare_earths", st, sh) for st, sh in stage_shares(m).items() if sh > 0]
        for commodity, stage, share in targets:
            for first, length in _windows(m, labels):
                event: dict[str, Any] = {
                    "type": "export_control",
                    "name": f"{rule.name}/{m.id} ({commodity} {stage})",
                    "origin": rule.issuer,
                    "stages": [stage],
                    "destinations": m.destinations,
                    "start": first,
                    "duration": length,
                }
                if m.kind == "quota":
                    legal = _legal(m, m.start)
                    event["fraction"] = round(
                        share * (1.0 - min(legal * (1.0 + m.leakage), 1.0)), 6
                    )
                else:
                    event["fraction"] = round(share, 6)
                    if m.kind == "licence":
                        assert m.licence is not None
                        lag_months = (
                            m.licence.processing_working_days * CALENDAR_PER_WORKING_DAY / 30.4
                        )
                        passed = min(m.licence.approval_rate * (1.0 + m.leakage), 1.0)
                        event["licensing"] = {
                            "after_months": round(lag_months, 2),
                            "pass_fraction": round(passed, 4),
                        }
                events.append({"commodity": commodity, "event": event})
    return events


def to_scenario(
    rules: Iterable[RuleFile],
    commodity: str,
    start: str,
    months: int,
    year: int = 2024,
    alliance: str = "US-JP",
) -> dict[str, Any]:
    """A scenario mapping for ``critmin simulate`` holding the rules' events on ``commodity``.

    Validate and run it with :func:`critmin.simulation.scenario.parse_scenario` and
    :func:`critmin.simulation.runner.simulate`.
    """
    rules = list(rules)
    events = [
        item["event"]
        for rule in rules
        for item in to_events(rule, start, months)
        if item["commodity"] == commodity
    ]
    if not events:
        raise ScenarioError(
            f"commodity {commodity!r}: none of the rules ({', '.join(r.name for r in rules)}) "
            "controls it"
        )
    return {
        "name": "+".join(r.name for r in rules) + f"-{commodity}",
        "description": "compiled from export-control rule files: "
        + "; ".join(r.title for r in rules),
        "commodity": commodity,
        "year": year,
        "alliance": alliance,
        "horizon": {"start": start, "months": months},
        "events": events,
    }
