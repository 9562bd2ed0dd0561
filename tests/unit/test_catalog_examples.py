"""The data dictionary's examples of a big table come from a random sample, under the same rules."""

from __future__ import annotations

import duckdb

from warehouse import catalog


def _examples(con) -> dict[str, tuple[str | None, str | None]]:
    docs = catalog.describe(con, [("marts", "fct_big")], None)
    rows = catalog.data_dictionary(con, docs).to_pylist()
    return {r["column_name"]: (r["example_value"], r["example_note"]) for r in rows if r["table_name"] == "fct_big"}


def test_a_big_table_gives_its_examples_from_a_sample(monkeypatch):
    con = duckdb.connect()
    con.execute("create schema marts")
    # 40,000 records (record-level: a person key); `shared_by_8` has 5,000 values, each held by exactly 8.
    con.execute(
        "create table marts.fct_big as select 'P' || i as person_key, 'common' as kind, "
        "'V' || lpad((i // 8)::varchar, 5, '0') as shared_by_8 from range(40000) t(i)"
    )
    whole = _examples(con)
    assert whole["kind"] == ("common", None)
    assert whole["shared_by_8"] == ("V00000", None)  # 8 records share each: the first in text order
    assert whole["person_key"] == (None, "withheld: identifier")

    monkeypatch.setattr(catalog, "EXAMPLE_SAMPLE_ROWS", 1_000)
    sampled = _examples(con)
    # About 1,000 rows (2.5 %) sampled: a common value is still shown; no value has 8 sampled records
    # (chance of one: below 1e-9), and a value fewer than 8 sampled records share is never shown.
    assert sampled["kind"] == ("common", None)
    assert sampled["shared_by_8"] == (None, "withheld: no value shared by 8 or more records")
    assert sampled["person_key"] == (None, "withheld: identifier")
    assert con.execute("select count(*) from duckdb_tables() where table_name = '_send_examples'").fetchone() == (0,)
