"""The variables of a :class:`~critmin.network.SupplyNetwork`: dimensions, unit and meaning.

One table feeds the builder (``attrs`` of each variable), validation
(:meth:`SupplyNetwork.check`) and the docs (``docs/conventions.md`` prints
:func:`markdown_table`; a test keeps them equal). The contract is ``SCHEMA.md`` of issues 15
and 16: absent or unknown entries are NaN, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    """One variable of the network dataset."""

    name: str
    dims: tuple[str, ...]
    unit: str
    meaning: str
    kind: str = "float"  # float | str | bool | int


CSN = ("commodity", "stage", "country")
CS = ("commodity", "stage")
FLOW = ("commodity", "stage", "exporter", "importer")
GRADED = ("production", "capacity", "consumption", "price")
GRADES = ("primary", "secondary", "assumption", "derived")

VARIABLES: tuple[Variable, ...] = (
    Variable(
        "production", CSN, "t/yr of the stage unit",
        "output of the stage in the country; `ROW` = output no source attributes to a named "
        "country; NaN = unknown (a country no source names, unless the stage is complete)",
    ),
    Variable(
        "share", CSN, "1",
        "production / world_production; NaN where either is unknown",
    ),
    Variable(
        "world_production", CS, "t/yr of the stage unit",
        "world output of the stage (chain tables' world total, the sum of World Mining Data, "
        "or derived from a neighbouring stage: see `basis`)",
    ),
    Variable(
        "capacity", CSN, "t/yr of the stage unit",
        "operational capacity of plants that run today (nameplate where no operational figure); "
        "NaN = unknown (an engine then assumes production / utilisation and says so)",
    ),
    Variable(
        "consumption", CSN, "t/yr of the stage unit",
        "the stage's product used in the country and not processed further within the chain "
        "(final use at that stage); processing input is never consumption; NaN = unknown",
    ),
    Variable(
        "consumption_sector", (*CSN, "sector"), "1",
        "split of a country's consumption by end-use sector where a source gives one; NaN = "
        "use `sector_share`",
    ),
    Variable(
        "sector_share", ("commodity", "sector"), "1",
        "global end-use split of the chain's final product",
    ),
    Variable("price", CS, "USD per t of the stage unit", "base-year price of the stage's product"),
    Variable(
        "stage_yield", CS, "t out per t in",
        "t of this stage's product per t of the previous stage's (single-input stages)",
    ),
    Variable(
        "recipe", (*CS, "in_commodity", "in_stage"), "t in per t out",
        "inputs of a stage; multi-input stages from the chain tables (cathode from lithium, "
        "nickel, cobalt and manganese chemicals), single-input stages 1 / stage_yield",
    ),
    Variable(
        "trade_quantity", FLOW, "t/yr (BACI: gross weight; cited flows: stage unit)",
        "bilateral flows: CEPII BACI where it covers the stage, else cited customs flows; "
        "NaN where neither does",
    ),
    Variable("trade_value", FLOW, "USD/yr", "bilateral trade value (as trade_quantity)"),
    Variable("trade_grade", CS, "", "grade of the stage's trade flows", "str"),
    Variable("trade_source", CS, "", "source id of the stage's trade flows", "str"),
    Variable("unit", CS, "", "the stage unit (t REO, t LCE, t NdFeB, GWh ...)", "str"),
    Variable("stage_present", CS, "", "the commodity has this stage", "bool"),
    Variable("complete", CS, "", "every producer is named: an unnamed country produces 0", "bool"),
    Variable("figure_year", CS, "year", "year of the production figures used", "int"),
    Variable("basis", CS, "", "where the stage's production figures come from", "str"),
    Variable("member", ("group", "country"), "", "the country belongs to the group", "bool"),
    *(
        Variable(
            f"{name}_grade", dims, "", f"grade of `{name}`: {', '.join(GRADES)}; '' if NaN", "str"
        )
        for name, dims in (
            ("production", CSN), ("capacity", CSN), ("consumption", CSN), ("price", CS),
            ("world_production", CS),
        )
    ),
    *(
        Variable(
            f"{name}_source", dims, "",
            f"source id of `{name}` (`critmin data sources`); '' if NaN", "str",
        )
        for name, dims in (
            ("production", CSN), ("capacity", CSN), ("consumption", CSN), ("price", CS),
            ("world_production", CS),
        )
    ),
    Variable(
        "production_note", CSN, "",
        "how the figure was made, or why it is unknown", "str",
    ),
    Variable(
        "named", CSN, "",
        "a source names the country at the stage (with a figure, or the reason it has none)",
        "bool",
    ),
)  # fmt: skip

BY_NAME = {v.name: v for v in VARIABLES}


def attrs(name: str) -> dict[str, str]:
    """``units`` and ``description`` attributes of variable ``name``."""
    variable = BY_NAME[name]
    return {"units": variable.unit, "description": variable.meaning}


def markdown_table() -> str:
    """The schema as the Markdown table printed in ``docs/conventions.md``."""
    lines = ["| variable | dims | unit | meaning |", "|---|---|---|---|"]
    for v in VARIABLES:
        lines.append(f"| `{v.name}` | {', '.join(v.dims)} | {v.unit} | {v.meaning} |")
    return "\n".join(lines) + "\n"
