"""Publication to DuckDB, Parquet and a PostgreSQL reporting schema: all or nothing, never a mix."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from warehouse.publish import Targets, publish

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
