"""Shipped examples instantiated for the report's alliance and year.

The shipped scenario, stockpile and portfolio files are written for the US-Japan framework
(their ``alliance`` is ``US-JP``). For another alliance the report rewrites them, in their own
file formats, before anything runs:

* a destination list that names the file's alliance (``[USA, JPN]``) names the new members;
* events aimed at one ally each (``ban on USA``, ``ban on JPN``: same event, one destination)
  become one such event per member;
* an event that names a country of the file's alliance that is not a member of the new one
  (Japan releasing stock, for the EU) cannot be carried over: the scenario is not run for that
  alliance and :class:`NotForAlliance` says why;
* the base year becomes the report's year.

Everything else (origins such as China, outages in Myanmar, fractions, dates) is kept. The
rewritten mappings are what the engines run and what the results folder keeps.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from critmin.errors import InputError

# Fields of scenario events that name one country (a member of the alliance or not).
COUNTRY_FIELDS = ("holder", "country")


class NotForAlliance(Exception):  # noqa: N818  (a verdict, not an error of the user)
    """The shipped example cannot be carried over to the alliance; ``str()`` says why."""


def _per_ally_key(event: Mapping[str, Any]) -> str:
    """An event with its destination and name removed: events aimed at one ally each that
    agree on everything else share this key."""
    rest = {k: v for k, v in event.items() if k not in ("destinations", "name")}
    return repr(sorted(rest.items(), key=lambda item: item[0]))


def scenario_for_alliance(
    raw: Mapping[str, Any],
    source_members: Sequence[str],
    alliance: str,
    members: Sequence[str],
    year: int,
) -> dict[str, Any]:
    """The scenario mapping ``raw`` (written for ``source_members``) for ``alliance``."""
    spec = copy.deepcopy(dict(raw))
    spec["alliance"] = alliance
    spec["year"] = year
    source, target = list(source_members), list(members)
    if set(source) == set(target):
        return spec
    events: list[dict[str, Any]] = []
    expanded: set[str] = set()
    for position, event in enumerate(spec.get("events", [])):
        label = event.get("name") or f"event {position + 1} ({event.get('type', '?')})"
        for field in COUNTRY_FIELDS:
            value = event.get(field)
            if isinstance(value, str) and value in source and value not in target:
                raise NotForAlliance(
                    f"its event {label!r} names {value} ({field}), which is not a member of "
                    f"{alliance}"
                )
        destinations = event.get("destinations")
        if isinstance(destinations, list) and destinations:
            if set(destinations) == set(source):
                event = {**event, "destinations": target}
            elif len(destinations) == 1 and destinations[0] in source:
                key = _per_ally_key(event)
                if key in expanded:
                    continue
                expanded.add(key)
                for member in target:
                    name = str(event.get("name", "")).replace(destinations[0], member)
                    events.append({**event, "destinations": [member], "name": name or None})
                continue
            elif set(destinations) & set(source) - set(target):
                missing = sorted(set(destinations) & set(source) - set(target))
                raise NotForAlliance(
                    f"its event {label!r} is aimed at {', '.join(missing)}, not members of "
                    f"{alliance}"
                )
        events.append(event)
    spec["events"] = [{k: v for k, v in e.items() if v is not None} for e in events]
    return spec


def stockpile_for_alliance(
    raw: Mapping[str, Any], members: Sequence[str]
) -> dict[str, Any]:
    """The stockpile config mapping ``raw`` with the members as allies (an ally's own
    settings are kept where it stays; a new ally starts with none)."""
    spec = copy.deepcopy(dict(raw))
    allies = spec.get("allies") or {}
    spec["allies"] = {member: allies.get(member) or {} for member in members}
    return spec


def portfolio_for_alliance(
    raw: Mapping[str, Any],
    members: Sequence[str],
    year: int,
    horizon: int,
    budgets: Mapping[str, float] | None,
) -> tuple[dict[str, Any], list[str]]:
    """The portfolio config mapping ``raw`` for the members: the parties of the file that are
    members keep their budgets and instruments; ``budgets`` (USD per party) replaces or adds
    budgets (a new party takes every instrument the file's parties use); base year and target
    year become the report's year and horizon. Returns the mapping and the members left
    without a budget. Raises :class:`NotForAlliance` when no party is left."""
    spec = copy.deepcopy(dict(raw))
    parties: dict[str, Any] = spec.get("parties") or {}
    kept = {p: dict(v) for p, v in parties.items() if p in members}
    instruments = sorted({i for spec_ in parties.values() for i in spec_.get("instruments", [])})
    for party, budget in (budgets or {}).items():
        if party not in members:
            raise InputError(
                f"budgets.{party}: not a member of the alliance; members: {', '.join(members)}"
            )
        if party in kept:
            kept[party]["budget_usd"] = budget
        else:
            kept[party] = {"budget_usd": budget, "instruments": instruments}
    if not kept:
        raise NotForAlliance(
            f"none of the example's financing parties ({', '.join(parties)}) is a member; "
            "give each member's budget under budgets: in the settings file"
        )
    spec["parties"] = kept
    spec["base_year"] = year
    spec["target_year"] = horizon
    return spec, [m for m in members if m not in kept]
