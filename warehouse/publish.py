"""Publish the checked marts: copy them into a new DuckDB file, then atomically replace the
published file. Readers that already opened the old file keep reading it; new readers see the
new one; nobody ever sees half a publication, and the build never waits on a reader's lock.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

PUBLISHED_SCHEMAS = ("marts",)
PUBLISHED_OPS_TABLES = ("data_quality_results", "pipeline_runs", "loaded_batches")


def published_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_type = 'BASE TABLE' "
        "and (list_contains($schemas, table_schema) "
        "     or (table_schema = 'ops' and list_contains($ops, table_name))) "
        "order by 1, 2",
        {"schemas": list(PUBLISHED_SCHEMAS), "ops": list(PUBLISHED_OPS_TABLES)},
    ).fetchall()
    return [(schema, table) for schema, table in rows]


def publish(con: duckdb.DuckDBPyConnection, published_path: Path) -> dict[str, int]:
    """Copy the marts (and run/quality tables) from the build connection to `published_path`."""
    published_path.parent.mkdir(parents=True, exist_ok=True)
    staging = published_path.with_name(f".{published_path.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    con.execute(f"attach '{staging}' as publication")
    try:
        for schema, table in published_tables(con):
            con.execute(f"create schema if not exists publication.{schema}")
            con.execute(f"create table publication.{schema}.{table} as select * from {schema}.{table}")
            counts[f"{schema}.{table}"] = con.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
    finally:
        con.execute("detach publication")
    _fsync(staging)
    os.replace(staging, published_path)
    _fsync(published_path.parent)
    return counts


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
