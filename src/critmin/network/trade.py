"""Trade flows of each stage: CEPII BACI where it covers the stage, else cited customs flows.

A stage is *covered* by BACI in a year when it has HS codes and the bundled extract holds
flows of every one of them that year; a pair of countries without a flow is then a known
zero. Where BACI does not cover a stage (no HS code: magnets, rare-earth concentrate; no
flows: germanium's HS 811230 after 2016), the flows are unknown (NaN) except the cited ones
of the chain tables (``tables.flows()``), which carry their own grade and source.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import xarray as xr

from critmin.data import tables
from critmin.data.commodities import Commodity, catalog

BACI_SOURCE = "cepii_baci"  # the source id of CEPII BACI (``critmin data sources``)
BACI_GRADE = "primary"
KEYS = ["commodity", "stage", "exporter", "importer"]
WORLD, ROW = "WLD", "ROW"


@cache
def codes_with_flows(year: int) -> frozenset[int]:
    flows = tables.trade_year(year)
    positive = flows[flows["quantity_t"].fillna(0.0) > 0]
    return frozenset(int(h) for h in positive["hs"].unique())


def trade_coverage(commodities: Iterable[str], years: Iterable[int]) -> pd.DataFrame:
    """Whether BACI measures each (commodity, stage, year), and why not.

    Columns: commodity, stage, year, covered (bool), note ('' when covered).
    """
    items = catalog()
    rows = []
    for year in years:
        present = codes_with_flows(int(year))
        for commodity_id in commodities:
            for stage in items[commodity_id].stages:
                if not stage.hs:
                    note = f"no HS code for {stage.product}: BACI does not measure it"
                else:
                    missing = [h for h in stage.hs if h not in present]
                    note = (
                        f"BACI (bundled HS92 extract) holds no flows of HS "
                        f"{', '.join(str(h) for h in missing)} in {year}"
                        if missing
                        else ""
                    )
                rows.append((commodity_id, stage.id, int(year), note == "", note))
    return pd.DataFrame(rows, columns=["commodity", "stage", "year", "covered", "note"])


def _world_to_rest(rows: pd.DataFrame) -> pd.DataFrame:
    """A cited total to or from the world (``WLD``) becomes the flow with ``ROW``: the total
    minus the cited flows with named partners (grade ``derived``). Where a named flow lacks
    that variable, the remainder is unknown and the total is dropped."""
    keep = rows[(rows["exporter"] != WORLD) & (rows["importer"] != WORLD)]
    rests = []
    for row in rows[(rows["exporter"] == WORLD) | (rows["importer"] == WORLD)].to_dict(
        orient="records"
    ):
        side, other = (
            ("importer", "exporter") if row["importer"] == WORLD else ("exporter", "importer")
        )
        same = keep[
            (keep["commodity"] == row["commodity"])
            & (keep["stage"] == row["stage"])
            & (keep[other] == row[other])
        ]
        partners = set(same[side])
        given = same[same["variable"] == row["variable"]]
        if set(given[side]) != partners or not np.isfinite(row["value"]):
            continue  # a named flow without this variable: the rest is unknown
        named = float(given["value"].sum())
        rests.append(
            {
                **row,
                side: ROW,
                "value": max(float(row["value"]) - named, 0.0),
                "grade": "derived",
                "note": f"world total {row['value']:g} ({row['source_id']}) minus the named "
                f"partners ({', '.join(sorted(partners)) or 'none'}: {named:g})",
            }
        )
    return pd.concat([keep, pd.DataFrame(rests)], ignore_index=True) if rests else keep


def cited_flows(commodities: Iterable[str], year: int) -> pd.DataFrame:
    """Cited flows of ``year`` (whole-year rows): commodity, stage, exporter, importer,
    quantity (stage unit), value (USD), grade, source. A total to or from the world becomes
    the flow with ``ROW`` (:func:`_world_to_rest`)."""
    flows = tables.flows()
    rows = flows[flows["commodity"].isin(list(commodities)) & (flows["year"] == year)]
    rows = _world_to_rest(rows[rows["month"] == 0])
    if rows.empty:
        return pd.DataFrame(columns=[*KEYS, "quantity", "value", "grade", "source"])
    wide = rows.pivot_table(index=KEYS, columns="variable", values="value", aggfunc="first")
    meta = rows.groupby(KEYS).agg(grade=("grade", "first"), source=("source_id", "first"))
    wide = wide.reindex(columns=["trade_quantity", "trade_value"])
    return (
        wide.rename(columns={"trade_quantity": "quantity", "trade_value": "value"})
        .join(meta)
        .reset_index()
    )


@dataclass(frozen=True)
class StageTrade:
    """Flows of a network's stages: BACI rows, cited rows, and per-stage grade and source."""

    baci: pd.DataFrame  # KEYS + value_usd, quantity_t
    cited: pd.DataFrame  # KEYS + quantity, value, grade, source
    covered: frozenset[tuple[str, str]]
    grades: dict[tuple[str, str], str]
    sources: dict[tuple[str, str], str]

    @property
    def countries(self) -> set[str]:
        frames = (self.baci, self.cited)
        return {str(c) for f in frames for c in (*f["exporter"], *f["importer"])} - {"nan"}

    def _array(
        self, ids: Sequence[str], stages: Sequence[str], baci: str, cited: str
    ) -> xr.DataArray:
        traders = sorted(self.countries)
        full = {"commodity": list(ids), "stage": list(stages), "exporter": traders,
                "importer": traders}  # fmt: skip
        shape = tuple(len(v) for v in full.values())
        array = xr.DataArray(np.full(shape, np.nan), coords=full, dims=tuple(full))
        for c, s in self.covered:
            if c in ids and s in stages:
                array.loc[{"commodity": c, "stage": s}] = 0.0
        for frame, column in ((self.baci, baci), (self.cited, cited)):
            if frame.empty:
                continue
            keyed = frame.set_index(KEYS)[column].astype(float)
            values = xr.DataArray.from_series(keyed).reindex(full)
            array = values.where(values.notnull(), array)
        return array

    def value(self, ids: Sequence[str], stages: Sequence[str]) -> xr.DataArray:
        """Trade value (USD/yr): 0 for pairs without a flow where BACI covers the stage."""
        return self._array(ids, stages, "value_usd", "value")

    def quantity(self, ids: Sequence[str], stages: Sequence[str]) -> xr.DataArray:
        """Trade quantity (BACI: t gross weight; cited flows: stage unit)."""
        return self._array(ids, stages, "quantity_t", "quantity")


def stage_trade_arrays(items: Sequence[Commodity], year: int) -> StageTrade:
    """BACI flows of the covered stages of ``items`` in ``year``, and cited flows elsewhere."""
    ids = [i.id for i in items]
    coverage = trade_coverage(ids, [year])
    covered = {
        (c, s) for c, s, ok in zip(coverage["commodity"], coverage["stage"], coverage["covered"],
                                   strict=True) if ok
    }  # fmt: skip
    codes = tables.hs_codes()
    wanted = codes[codes["commodity"].isin(ids)][["hs", "commodity", "stage"]]
    flows = tables.trade_year(year)
    flows = flows[flows["hs"].isin(wanted["hs"])].merge(wanted, on="hs")
    flows = flows.assign(
        exporter=flows["exporter"].astype(str), importer=flows["importer"].astype(str)
    )
    pairs = pd.Series(list(zip(flows["commodity"], flows["stage"], strict=True)), dtype=object)
    flows = flows[pairs.isin(covered).to_numpy()]
    baci = (
        flows.groupby(KEYS, observed=True)[["value_kusd", "quantity_t"]]
        .sum(min_count=1)
        .reset_index()
    )
    baci = baci.assign(value_usd=baci["value_kusd"] * 1000.0).drop(columns="value_kusd")
    cited = cited_flows(ids, year)
    cited_keys = set(zip(cited["commodity"], cited["stage"], strict=True))
    keep = [k not in covered for k in zip(cited["commodity"], cited["stage"], strict=True)]
    cited = cited[np.array(keep, dtype=bool)]
    grades = {k: BACI_GRADE for k in covered}
    sources = {k: BACI_SOURCE for k in covered}
    for key in cited_keys - covered:
        part = cited[(cited["commodity"] == key[0]) & (cited["stage"] == key[1])]
        grades[key] = "; ".join(sorted(set(part["grade"].astype(str))))
        sources[key] = "; ".join(sorted(set(part["source"].astype(str))))
    return StageTrade(baci, cited, frozenset(covered), grades, sources)
