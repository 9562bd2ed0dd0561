"""Every LA's batch of a run loaded together (one insert per raw table) leaves exactly what loading them
one by one leaves: raw rows, rejects, deleted keys, watermarks, the batch ledger. Four LAs of the
`region` scale, a first full read, then a full reconciliation after rows were deleted and corrected at
source in two LAs; then the run's load retried."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest
import sqlalchemy as sa

from ingestion import load
from ingestion.la_case_management import extract
from synthetic.la_case_management import generate
from synthetic.scales import SCALES

AS_OF = dt.date(2025, 3, 31)
AREAS = SCALES["region"].areas()
# Columns that say when a row was written, not what: they differ between any two loads.
WRITTEN_AT = {"_loaded_at", "loaded_at"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("load_batches")
    url = f"sqlite:///{work / 'cms_{area_code}.sqlite'}"
    generate(url, "region", seed=11, as_of=AS_OF, size=0.02, first_year=2024)
    key = b"test-key-" + b"0" * 32
    first = [extract.extract(url.format(area_code=a), a, work / "landing", key, run_id="run-1") for a in AREAS]
    for area in AREAS[:2]:  # deleted at source, and a correction saved without a new timestamp
        engine = sa.create_engine(url.format(area_code=area))
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "delete from ssd_ehcp_requests where rowid in (select rowid from ssd_ehcp_requests limit 3)"
            )
            conn.exec_driver_sql("update ssd_ehcp_requests set ehcr_ehcp_req_outcome = 'W' where rowid % 7 = 0")
        engine.dispose()
    second = [
        extract.extract(url.format(area_code=a), a, work / "landing", key, run_id="run-2", mode="full") for a in AREAS
    ]
    return work, first, second


def _tables(con) -> list[str]:
    return [
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema = 'ops' or table_schema like 'raw_%' order by all"
        ).fetchall()
    ]


def _differences(one, together, table: str) -> tuple[int, int]:
    columns = [c for c, *_ in one.execute(f"describe {table}").fetchall() if c not in WRITTEN_AT]
    listed = ", ".join(f'"{c}"' for c in columns)
    one_way = f"select {listed} from one.{table} except all select {listed} from together.{table}"
    other_way = f"select {listed} from together.{table} except all select {listed} from one.{table}"
    return (
        one.execute(f"select count(*) from ({one_way})").fetchone()[0],
        one.execute(f"select count(*) from ({other_way})").fetchone()[0],
    )


def test_loading_every_la_together_equals_loading_them_one_by_one(runs):
    work, first, second = runs
    with duckdb.connect(str(work / "one.duckdb")) as one:
        rows_one = sum(load.load_batch(one, m) for m in first + second)
    with duckdb.connect(str(work / "together.duckdb")) as together:
        rows_together = load.load_batches(together, first) + load.load_batches(together, second)
        load.load_batches(together, second)  # a retried load changes nothing
    assert rows_one == rows_together > 0
    with duckdb.connect() as con:
        con.execute(f"attach '{work / 'one.duckdb'}' as one (read_only)")
        con.execute(f"attach '{work / 'together.duckdb'}' as together (read_only)")
        con.execute("use one")
        tables = _tables(con)
        con.execute("use together")
        assert _tables(con) == tables
        assert "raw_la_case_management.deleted_keys" in tables
        for table in tables:
            assert _differences(con, con, table) == (0, 0), table
        deleted = con.execute("select count(distinct area_code) from together.raw_la_case_management.deleted_keys")
        assert deleted.fetchone()[0] == 2  # the reconciliation found the two LAs' deletions
        rejected = con.execute("select count(*) from together.ops.rejected_rows").fetchone()[0]
        assert rejected > 0  # rejects of every LA's batches kept with their reasons


def test_batches_of_two_feeds_are_not_loaded_together(runs, tmp_path):
    work, first, _ = runs
    other = tmp_path / "other" / "manifest.json"
    other.parent.mkdir()
    other.write_text(json.dumps({**json.loads(first[0].read_text()), "feed": "icb_nd_pathway"}))
    with duckdb.connect() as con, pytest.raises(ValueError, match="batches of one feed"):
        load.load_batches(con, [first[0], other])


def test_a_batch_without_tables_loads_nothing_and_fails_nothing(runs, tmp_path):
    work, first, _ = runs
    empty = tmp_path / "empty" / "manifest.json"
    empty.parent.mkdir()
    empty.write_text(json.dumps({**json.loads(first[0].read_text()), "batch_id": "empty", "tables": []}))
    with duckdb.connect() as con:
        assert load.load_batches(con, [empty]) == 0
        assert con.execute("select count(*) from ops.loaded_batches").fetchone() == (0,)
