"""Load a landed batch into the DuckDB raw schema, idempotently.

Each table of the batch is replaced by batch id inside one transaction (delete the batch's rows,
insert them again), so loading the same batch twice, or retrying after a crash half-way, leaves
exactly the same rows. Raw tables keep every extracted version; staging picks the newest.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion import landing

OPS_DDL = """
create schema if not exists ops;
create table if not exists ops.loaded_batches (
    feed varchar, batch_id varchar, run_id varchar, area_code varchar, source_table varchar,
    contract_version varchar,
    extracted_at timestamptz, rows_in bigint, rows_loaded bigint, rows_rejected bigint,
    fields_blanked bigint, sha256 varchar, loaded_at timestamptz,
    primary key (batch_id, source_table)
);
create table if not exists ops.rejected_rows (
    feed varchar, batch_id varchar, source varchar, row_number bigint, record_key varchar,
    field varchar, reason varchar, action varchar
);
create table if not exists ops.extract_watermarks (
    feed varchar, area_code varchar, source_table varchar, watermark timestamp,
    primary key (feed, area_code, source_table)
);
"""


class ChecksumMismatch(RuntimeError):
    pass


def raw_schema(feed: str) -> str:
    return f"raw_{feed}"


def load_batch(con: duckdb.DuckDBPyConnection, manifest_path: Path) -> int:
    """Load one batch; return the number of rows loaded."""
    manifest = landing.read_manifest(manifest_path)
    batch_dir = manifest_path.parent
    schema = raw_schema(manifest.feed)
    for table in manifest.tables:
        if table.file and landing.sha256_of(batch_dir / table.file) != table.sha256:
            raise ChecksumMismatch(f"{batch_dir / table.file}: checksum differs from the manifest")
    con.execute("begin transaction")
    try:
        con.execute(OPS_DDL)
        con.execute(f"create schema if not exists {schema}")
        for table in manifest.tables:
            _load_table(con, schema, manifest, batch_dir, table)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return sum(t.rows_loaded for t in manifest.tables)


def _load_table(con, schema: str, manifest: landing.Manifest, batch_dir: Path, table: landing.TableBatch) -> None:
    target = f"{schema}.{table.table}"
    params = {"batch": manifest.batch_id}
    if table.file:
        source = f"read_parquet('{batch_dir / table.file}')"
        con.execute(
            f"create table if not exists {target} as "
            f"select *, ''::varchar as _batch_id, now() as _loaded_at from {source} limit 0"
        )
        con.execute(f"delete from {target} where _batch_id = $batch", params)
        con.execute(
            f"insert into {target} by name select *, $batch as _batch_id, now() as _loaded_at from {source}",
            params,
        )
    con.execute(
        "delete from ops.rejected_rows where batch_id = $batch and source = $src",
        {**params, "src": f"{manifest.feed}.{table.table}"},
    )
    if table.rejects_file:
        con.execute(
            "insert into ops.rejected_rows by name select $feed as feed, $batch as batch_id, * "
            f"from read_parquet('{batch_dir / table.rejects_file}')",
            {**params, "feed": manifest.feed},
        )
    con.execute(
        "insert or replace into ops.loaded_batches values "
        "($feed, $batch, $run, $area, $tbl, $ver, $extracted, $rin, $rloaded, $rrej, $blank, $sha, now())",
        {
            **params,
            "feed": manifest.feed,
            "run": manifest.run_id,
            "area": manifest.area_code,
            "tbl": table.table,
            "ver": manifest.contract_version,
            "extracted": manifest.extracted_at,
            "rin": table.rows_in,
            "rloaded": table.rows_loaded,
            "rrej": table.rows_rejected,
            "blank": table.fields_blanked,
            "sha": table.sha256,
        },
    )
    if table.max_change_timestamp:
        con.execute(
            "insert into ops.extract_watermarks values ($feed, $area, $tbl, $wm) on conflict do update "
            "set watermark = greatest(watermark, excluded.watermark)",
            {
                "feed": manifest.feed,
                "area": manifest.area_code,
                "tbl": table.table,
                "wm": table.max_change_timestamp,
            },
        )


def watermarks(con: duckdb.DuckDBPyConnection, feed: str, area_code: str) -> dict[str, str]:
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'ops' and table_name = 'extract_watermarks'"
    ).fetchone()[0]
    if not exists:
        return {}
    rows = con.execute(
        "select source_table, watermark from ops.extract_watermarks where feed = ? and area_code = ?",
        [feed, area_code],
    ).fetchall()
    return {table: wm.isoformat() for table, wm in rows}
