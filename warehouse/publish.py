"""Publish the checked marts to every target, all or nothing.

Targets: the DuckDB file BI tools open read-only (always), Parquet files per table (optional) and a
PostgreSQL reporting schema (when a reporting connection is configured). Each target is prepared
beside the live one first; only when all are ready are they switched: PostgreSQL by renaming the
new schema over the old inside one transaction, the DuckDB file by an atomic `os.replace`, the
Parquet folder by atomically repointing a symlink. A reader sees the old version or the new one,
never a mix; a failure while preparing leaves every target as it was.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.csv as pa_csv
import sqlalchemy as sa

PUBLISHED_SCHEMAS = ("marts",)
PUBLISHED_OPS_TABLES = ("data_quality_results", "pipeline_runs", "loaded_batches", "feed_status")
PARQUET_VERSIONS_KEPT = 2
_PG_TYPES = {
    "VARCHAR": "text",
    "DATE": "date",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMP": "timestamp",
    "HUGEINT": "numeric",
}


@dataclass(frozen=True)
class Targets:
    duckdb_path: Path
    parquet_dir: Path | None = None  # a symlink to the current version folder
    postgres_url: str | None = None
    postgres_schema: str = "send_reporting"


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


def publish(con: duckdb.DuckDBPyConnection, targets: Targets | Path) -> dict[str, int]:
    """Copy the marts (and run/quality tables) from the build connection to every target."""
    if isinstance(targets, Path):
        targets = Targets(duckdb_path=targets)
    tables = published_tables(con)
    counts = {f"{s}.{t}": con.execute(f"select count(*) from {s}.{t}").fetchone()[0] for s, t in tables}
    staged_file = staged_parquet = pg = None
    try:
        staged_file = _stage_duckdb(con, tables, targets.duckdb_path)
        if targets.parquet_dir is not None:
            staged_parquet = _stage_parquet(con, tables, targets.parquet_dir)
        if targets.postgres_url:
            pg = _stage_postgres(con, tables, targets.postgres_url, targets.postgres_schema)
            pg.commit()  # the one step that can still fail for outside reasons goes first
    except BaseException:
        if pg is not None:
            pg.rollback()
        if staged_file is not None:
            staged_file.unlink(missing_ok=True)
        if staged_parquet is not None:
            shutil.rmtree(staged_parquet, ignore_errors=True)
        raise
    finally:
        if pg is not None:
            pg.close()
    os.replace(staged_file, targets.duckdb_path)
    _fsync(targets.duckdb_path.parent)
    if staged_parquet is not None:
        _switch_symlink(targets.parquet_dir, staged_parquet)
    return counts


def _stage_duckdb(con, tables, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    con.execute(f"attach '{staging}' as publication")
    try:
        for schema, table in tables:
            con.execute(f"create schema if not exists publication.{schema}")
            con.execute(f"create table publication.{schema}.{table} as select * from {schema}.{table}")
    finally:
        con.execute("detach publication")
    _fsync(staging)
    return staging


def _stage_parquet(con, tables, link: Path) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = link.parent / f"{link.name}.versions" / stamp
    for schema, table in tables:
        (folder / schema).mkdir(parents=True, exist_ok=True)
        con.execute(f"copy {schema}.{table} to '{folder / schema / table}.parquet' (format parquet)")
    return folder


def _switch_symlink(link: Path, target: Path) -> None:
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target.relative_to(link.parent))
    os.replace(tmp, link)  # readers resolve the link when they open a file: old or new, never a mix
    versions = sorted(target.parent.iterdir())
    for old in versions[:-PARQUET_VERSIONS_KEPT]:
        shutil.rmtree(old, ignore_errors=True)


def _stage_postgres(con, tables, url: str, schema: str):
    """Load every table into `<schema>__new` and swap it in; returns the connection, transaction open."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    raw = engine.raw_connection()
    new = f"{schema}__new"
    with raw.cursor() as cur:
        cur.execute(f'drop schema if exists "{new}" cascade; create schema "{new}"')
        for source_schema, table in tables:
            name = table if source_schema == "marts" else f"{source_schema}_{table}"
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [source_schema, table],
            ).fetchall()
            ddl = ", ".join(f'"{c}" {_pg_type(t)}' for c, t in columns)
            cur.execute(f'create table "{new}"."{name}" ({ddl})')
            reader = con.execute(f"select * from {source_schema}.{table}").to_arrow_reader(100_000)
            for batch in reader:
                buffer = io.BytesIO()
                pa_csv.write_csv(batch, buffer, pa_csv.WriteOptions(include_header=False))
                buffer.seek(0)
                cur.copy_expert(f'copy "{new}"."{name}" from stdin with (format csv)', buffer)
        cur.execute(f'drop schema if exists "{schema}" cascade; alter schema "{new}" rename to "{schema}"')
    return raw


def _pg_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return "numeric"
    return _PG_TYPES.get(duckdb_type, "text")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
