"""The feed registry: every package `ingestion/<feed>/` with a `feed.py` declaring `FEED` is a feed.

Adding a feed is adding such a package (declaration, contract, read function) and its dbt staging;
everything that needs the list of feeds asks here. dbt cannot import Python, so its feed lists are a
macro generated from the registry (`python -m ingestion.registry`, run by `make`; a test keeps the
committed file current).

    python -m ingestion.registry          # write dbt_project/macros/feed_registry.sql
    python -m ingestion.registry --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import importlib
import sys
from functools import cache
from pathlib import Path

from ingestion.feed import PACKAGES_DIR, Agreement, Feed

DBT_MACRO = PACKAGES_DIR.parent / "dbt_project" / "macros" / "feed_registry.sql"


@cache
def feeds() -> tuple[Feed, ...]:
    """Every declared feed, by name."""
    found = []
    for declaration in sorted(PACKAGES_DIR.glob("*/feed.py")):
        package = declaration.parent.name
        feed = importlib.import_module(f"ingestion.{package}.feed").FEED
        if feed.name != package:
            raise ValueError(f"ingestion/{package}/feed.py declares feed {feed.name!r}: it must be named {package!r}")
        found.append(feed)
    agreements = [a.name for f in found for a in f.agreements]
    if len(agreements) != len(set(agreements)):
        raise ValueError(f"an IG register agreement is declared by two feeds: {sorted(agreements)}")
    return tuple(found)


def names() -> tuple[str, ...]:
    return tuple(f.name for f in feeds())


def feed(name: str) -> Feed:
    for candidate in feeds():
        if candidate.name == name:
            return candidate
    raise KeyError(f"no feed {name!r} in the registry (ingestion/<feed>/feed.py): {', '.join(names())}")


def agreements() -> dict[str, tuple[Feed, Agreement]]:
    """IG register agreement -> the feed carrying it, and its declaration."""
    return {a.name: (f, a) for f in feeds() for a in f.agreements}


def feed_of(agreement: str) -> Feed:
    return agreements()[agreement][0]


def dbt_macro() -> str:
    """The dbt macros listing each feed's KPI models, for int_kpi_feed_values and int_feed_periods."""
    values = [(model, source) for f in feeds() for model, source in f.kpi_models.values.items()]
    periods = [
        (model, model in f.kpi_models.periods_by_kpi, model in f.kpi_models.periods_by_locality)
        for f in feeds()
        for model in f.kpi_models.periods
    ]

    def literal(value: str | None) -> str:
        return "none" if value is None else f"'{value}'"

    value_items = ", ".join(f"{{'model': '{m}', 'feed_source': {literal(s)}}}" for m, s in values)
    period_items = ", ".join(
        f"{{'model': '{m}', 'by_kpi': {str(k).lower()}, 'by_locality': {str(loc).lower()}}}" for m, k, loc in periods
    )
    return (
        "{#- Generated from the feed registry (ingestion/<feed>/feed.py) by `python -m ingestion.registry`:\n"
        "    do not edit. Each feed's int_kpi_values__<model> (feed_source none: the model names its own)\n"
        "    and int_feed_periods__<model> (by_kpi: it covers per KPI, with a kpi_code column; by_locality:\n"
        "    its KPI values come per locality too, each covered where its LA is). -#}\n"
        "{% macro kpi_value_models() %}\n"
        f"    {{{{ return([{value_items}]) }}}}\n"
        "{% endmacro %}\n\n"
        "{% macro feed_period_models() %}\n"
        f"    {{{{ return([{period_items}]) }}}}\n"
        "{% endmacro %}\n"
    )


def main(argv: list[str]) -> int:
    text = dbt_macro()
    if "--check" in argv:
        current = DBT_MACRO.read_text() if DBT_MACRO.exists() else ""
        if current != text:
            print(f"{DBT_MACRO} is out of date: run python -m ingestion.registry", file=sys.stderr)
            return 1
        return 0
    if not DBT_MACRO.exists() or DBT_MACRO.read_text() != text:  # untouched when current: make stays quiet
        Path(DBT_MACRO).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
