"""Publication to DuckDB, Parquet and a PostgreSQL reporting schema: all or nothing, never a mix, every
table and column described, the data dictionary beside the marts."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from ingestion.load import OPS_DDL
from warehouse import catalog
from warehouse.ledger import LEDGER_DDL
from warehouse.publish import PUBLISHED_OPS_TABLES, Targets, publish
from warehouse.quality import RESULTS_DDL

READER = Path(__file__).with_name("publication_reader.py")


def _build(path: Path, version: int, rows: int = 200) -> duckdb.DuckDBPyConnection:
    """A build warehouse whose every row says which version it belongs to."""
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts")
    con.execute(
        "create or replace table marts.kpi_values as select 'K' || (i % 7) as kpi_code, i as period, "
        f"{version} as version, (i * 1.5)::double as value, now() as refreshed_at from range({rows}) t(i)"
    )
    con.execute(f"create or replace table marts.kpi_catalogue as select {version} as version, {rows} as expected_rows")
    return con


def _digests(targets: Targets, pg: sa.Engine | None) -> dict:
    out = {"duckdb": hashlib.sha256(targets.duckdb_path.read_bytes()).hexdigest()}
    for name in ("data_dictionary.csv", "data_dictionary.md"):
        out[name] = hashlib.sha256((targets.duckdb_path.parent / name).read_bytes()).hexdigest()
    out["parquet"] = sorted(
        (p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in targets.parquet_dir.resolve().rglob("*.parquet")
    )
    if pg is not None:
        with pg.connect() as conn:
            out["postgres"] = conn.exec_driver_sql(
                f"select md5(string_agg(t::text, ',' order by period)) from {targets.postgres_schema}.kpi_values t"
            ).scalar()
    return out


@pytest.fixture
def targets(tmp_path, pg_url):
    return Targets(tmp_path / "pub" / "send.duckdb", tmp_path / "pub" / "parquet", pg_url, "send_reporting")


def test_every_target_gets_the_same_tables(tmp_path, targets):
    counts = publish(_build(tmp_path / "build.duckdb", version=1), targets)
    assert counts == {"marts.kpi_catalogue": 1, "marts.kpi_values": 200}
    with duckdb.connect(str(targets.duckdb_path), read_only=True) as con:
        assert con.execute("select count(*), sum(value) from marts.kpi_values").fetchone() == (200, 29850.0)
        # DuckDB's v1.0.0 storage: DuckDB 0.10 and later (and the ODBC drivers BI tools use) open it.
        tags = con.execute("select tags from duckdb_databases() where database_name = current_database()").fetchone()
        assert tags[0]["storage_version"] == "v1.0.0+"
    assert duckdb.sql(f"select count(*) from '{targets.parquet_dir}/marts/kpi_values.parquet'").fetchall() == [(200,)]
    engine = sa.create_engine(targets.postgres_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*), sum(value) from send_reporting.kpi_values").one() == (
            200,
            29850.0,
        )
        types = dict(
            conn.exec_driver_sql(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'send_reporting' and table_name = 'kpi_values'"
            ).all()
        )
    assert types == {
        "kpi_code": "text",
        "period": "bigint",
        "version": "integer",
        "value": "double precision",
        "refreshed_at": "timestamp with time zone",
    }
    engine.dispose()


def test_a_failure_while_preparing_changes_no_target(tmp_path, targets):
    publish(_build(tmp_path / "build.duckdb", version=1), targets)
    engine = sa.create_engine(targets.postgres_url)
    before = _digests(targets, engine)
    bad = _build(tmp_path / "build2.duckdb", version=2)
    bad.execute("create table marts.zz_unpublishable as select [1, 2] as list_column")  # no CSV form for lists
    with pytest.raises(Exception, match="(?i)list|csv|unsupported"):
        publish(bad, targets)
    assert _digests(targets, engine) == before
    assert not list(targets.duckdb_path.parent.glob(".*.tmp"))
    engine.dispose()


def test_twenty_readers_during_publication_see_whole_versions(tmp_path, targets):
    publish(_build(tmp_path / "build.duckdb", version=1), targets)
    stop = tmp_path / "stop"
    readers = [
        subprocess.Popen(
            [sys.executable, str(READER), kind, str(targets.duckdb_path), targets.postgres_url, str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for kind in ["duckdb"] * 10 + ["postgres"] * 10
    ]
    assert all(reader.stdout.readline().strip() == "ready" for reader in readers)  # all are reading v1
    writer_errors = 0
    for version in range(2, 6):
        try:
            publish(_build(tmp_path / f"build{version}.duckdb", version=version, rows=150 + 25 * version), targets)
        except Exception:  # noqa: BLE001 - counted and asserted below
            writer_errors += 1
        time.sleep(0.5)
    time.sleep(0.5)
    stop.touch()
    reports = []
    for reader in readers:
        out, err = reader.communicate(timeout=60)
        assert reader.returncode == 0, err[-2000:]
        reports.append(json.loads(out))
    assert writer_errors == 0
    assert sum(r["errors"] for r in reports) == 0, [r for r in reports if r["errors"]]
    assert sum(r["torn"] for r in reports) == 0
    assert all(r["reads"] > 0 for r in reports)
    seen = {v for r in reports for v in r["versions"]}
    assert {1, 5} <= seen  # readers saw the old and the new, and nothing in between was half-built


# --- descriptions and the data dictionary ---------------------------------------------------------------

KPI_VALUES_DOCS = {
    "kpi_code": "Code from kpi_catalogue.",
    "period": "Month number.",
    "version": "Which build wrote the row.",
    "value": "The KPI's value.",
    "refreshed_at": "When the run that built this row started.",
}


def _manifest(path: Path) -> Path:
    """A dbt manifest as `dbt parse` writes it: kpi_values fully described, kpi_catalogue half, fct_cases not."""

    def node(name: str, description: str, columns: dict[str, str]) -> dict:
        return {
            "resource_type": "model",
            "name": name,
            "alias": name,
            "schema": "marts",
            "description": description,
            "columns": {c: {"name": c, "description": d} for c, d in columns.items()},
        }

    manifest = {
        "nodes": {
            "model.send.kpi_values": node("kpi_values", "One row per KPI and month.", KPI_VALUES_DOCS),
            "model.send.kpi_catalogue": node("kpi_catalogue", "The KPI catalogue.", {"version": "Build version."}),
            "model.send.fct_cases": node("fct_cases", "", {"person_key": ""}),
            "test.send.not_null_kpi_values": {"resource_type": "test", "name": "x", "schema": "marts", "columns": {}},
        }
    }
    path.write_text(json.dumps(manifest))
    return path


def _documented_build(path: Path) -> duckdb.DuckDBPyConnection:
    """_build plus what the examples must handle: a public profile hiding rows, a record-level fact with
    a person key, dates, small counts, and the operational tables made by the pipeline's own DDL."""
    con = _build(path, version=1)
    con.execute(
        "create table marts.kpi_values_public as select * replace (case when period < 100 then null "
        "else value end as value), period < 100 as is_suppressed from marts.kpi_values"
    )
    con.execute(
        "create table marts.fct_cases as select 'h' || i as person_key, date '2024-01-01' + (i % 10)::int "
        "as received_date, date '2024-01-01' + i::int as decided_date, (i % 5 + 1)::bigint as small_count, "
        "'E10000017' as area_code from range(100) t(i)"
    )
    con.execute("update marts.kpi_values set value = 12345.5 where period < 100")  # seen only in suppressed rows
    con.execute("create table marts.kpi_small as select 3::bigint as cases, 12::bigint as big")
    for ddl in (OPS_DDL, LEDGER_DDL, RESULTS_DDL):
        con.execute(ddl)
    con.execute(
        "insert into ops.feed_status values ('run-1', 'la_case_management', '', 'live', '', date '2024-06-30', "
        "'LA SEND business intelligence team', false, now(), date '2024-07-01')"
    )
    return con


def _duckdb_comments(path: Path) -> tuple[dict, dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {
            (s, t): c for s, t, c in con.execute(
                "select schema_name, table_name, comment from duckdb_tables() where not internal"
            ).fetchall()
        }  # fmt: skip
        columns = {
            (s, t, n): c for s, t, n, c in con.execute(
                "select schema_name, table_name, column_name, comment from duckdb_columns() where not internal"
            ).fetchall()
        }  # fmt: skip
    return tables, columns


def _postgres_comments(url: str, schema: str) -> tuple[dict, dict]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        tables = dict(
            conn.exec_driver_sql(
                "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relkind = 'r'",
                (schema,),
            ).all()
        )
        columns = {
            (t, n): c
            for t, n, c in conn.exec_driver_sql(
                "select c.relname, a.attname, col_description(c.oid, a.attnum) from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace "
                "join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped "
                "where n.nspname = %s and c.relkind = 'r'",
                (schema,),
            ).all()
        }
    engine.dispose()
    return tables, columns


def test_every_published_table_and_column_has_its_description_in_duckdb_and_postgres(tmp_path, targets):
    targets = Targets(**{**targets.__dict__, "manifest_path": _manifest(tmp_path / "manifest.json")})
    counts = publish(_documented_build(tmp_path / "build.duckdb"), targets)
    published = {tuple(name.split(".")) for name in counts} | {catalog.DICTIONARY}
    assert {("ops", t) for t in PUBLISHED_OPS_TABLES} <= published  # the real DDL, all four tables

    tables, columns = _duckdb_comments(targets.duckdb_path)
    assert set(tables) == published
    empty = [k for k, c in {**tables, **columns}.items() if not (c or "").strip()]
    assert not empty, f"published without a comment in DuckDB: {empty}"
    pg_tables, pg_columns = _postgres_comments(targets.postgres_url, targets.postgres_schema)
    assert set(pg_tables) == {catalog.postgres_table(s, t) for s, t in published}
    empty = [k for k, c in {**pg_tables, **pg_columns}.items() if not (c or "").strip()]
    assert not empty, f"published without a comment in PostgreSQL: {empty}"
    # The same text in both, and where dbt describes it, dbt's words.
    for (schema, table, column), text in columns.items():
        assert pg_columns[catalog.postgres_table(schema, table), column] == text
    for (schema, table), text in tables.items():
        assert pg_tables[catalog.postgres_table(schema, table)] == text
    assert tables["marts", "kpi_values"] == "One row per KPI and month."
    assert {c: columns["marts", "kpi_values", c] for c in KPI_VALUES_DOCS} == KPI_VALUES_DOCS
    assert columns["marts", "kpi_catalogue", "version"] == "Build version."
    assert columns["marts", "kpi_catalogue", "expected_rows"] == catalog.UNDESCRIBED.format(table="marts.kpi_catalogue")
    assert tables["marts", "fct_cases"] == catalog.UNDESCRIBED.format(table="marts.fct_cases")
    # The operational tables, made by the pipeline's own DDL, are described in warehouse/catalog.py, every
    # column of them: a column added to that DDL without a description fails here.
    for (schema, table, column), text in columns.items():
        if schema == "ops" or (schema, table) == catalog.DICTIONARY:
            assert text == catalog.PLATFORM_DESCRIPTIONS[schema, table][1].get(column), (schema, table, column)


def test_the_data_dictionary_is_published_beside_the_marts_with_safe_examples(tmp_path, targets):
    targets = Targets(**{**targets.__dict__, "manifest_path": _manifest(tmp_path / "manifest.json")})
    publish(_documented_build(tmp_path / "build.duckdb"), targets)
    with duckdb.connect(str(targets.duckdb_path), read_only=True) as con:
        rows = con.sql("select * from marts.data_dictionary order by all").to_arrow_table().to_pylist()
        published = con.execute(
            "select count(*) from duckdb_columns() where not internal and schema_name in ('marts', 'ops')"
        ).fetchone()[0]
    assert len(rows) == published  # every column of every published table, the dictionary's own included
    by_column = {(r["table_name"], r["column_name"]): r for r in rows}
    example = {key: r["example_value"] for key, r in by_column.items()}
    note = {key: r["example_note"] for key, r in by_column.items()}
    assert example["kpi_values", "kpi_code"] == "K0" and example["kpi_values", "period"] is not None
    # kpi_values' examples come from its public profile's shown rows: never the value only suppressed rows hold.
    assert example["kpi_values", "value"] != "12345.5"
    assert (example["fct_cases", "person_key"], note["fct_cases", "person_key"]) == (None, "withheld: identifier")
    assert (example["feed_status", "data_owner"], note["feed_status", "data_owner"]) == (None, "withheld: personal")
    assert example["fct_cases", "received_date"] == "2024-01-01"  # 10 records share each date: the first ...
    assert note["fct_cases", "decided_date"].startswith("withheld: no value shared by 8")  # ... one record each
    assert example["fct_cases", "small_count"] is None  # 1 to 5: counts the public profile suppresses
    # An aggregate table's counts (BIGINT, as count() and sum() make them) of 1 to 7 are not shown either;
    # other integers (versions, ranks, positions) are.
    assert (example["kpi_small", "cases"], note["kpi_small", "cases"]) == (
        None,
        "withheld: only small numbers (1 to 7)",
    )
    assert (example["kpi_small", "big"], example["kpi_catalogue", "version"]) == ("12", "1")
    assert example["fct_cases", "area_code"] == "E10000017"
    assert by_column["feed_status", "status"]["postgres_table"] == "ops_feed_status"
    assert {r["description_source"] for r in rows} == {"dbt", "platform", "missing"}

    folder = targets.duckdb_path.parent
    with (folder / "data_dictionary.csv").open(newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    assert len(csv_rows) == len(rows)
    assert {r["column_name"] for r in csv_rows if r["table_name"] == "kpi_values"} == set(KPI_VALUES_DOCS)
    page = (folder / "data_dictionary.md").read_text()
    assert "## marts.kpi_values" in page and "One row per KPI and month." in page
    assert "`send_reporting.ops_feed_status`" in page
    parquet = duckdb.sql(f"select count(*) from '{targets.parquet_dir}/marts/data_dictionary.parquet'").fetchall()[0]
    assert parquet == (len(rows),)
    engine = sa.create_engine(targets.postgres_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from send_reporting.data_dictionary").scalar() == len(rows)
    engine.dispose()
