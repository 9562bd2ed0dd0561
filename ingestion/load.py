"""Load a landed batch into the DuckDB raw schema, idempotently.

Each table of the batch is replaced by batch id inside one transaction (delete the batch's rows,
insert them again), so loading the same batch twice, or retrying after a crash half-way, leaves
exactly the same rows. Raw tables keep every extracted version; staging picks the newest.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ingestion import contract as contracts
from ingestion import landing, registry
from ingestion.feed import Known

if TYPE_CHECKING:
    from ingestion.files import LoadedName

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
create table if not exists ops.loaded_files (
    feed varchar, batch_id varchar, file_name varchar, sha256 varchar, source_table varchar,
    file_version bigint, status varchar, rows_in bigint, rows_loaded bigint, rows_rejected bigint,
    fields_blanked bigint, contract_version varchar, reason varchar, loaded_at timestamptz,
    primary key (batch_id, file_name)
);
create table if not exists ops.full_reconciliations (
    feed varchar, area_code varchar, batch_id varchar primary key, extracted_at timestamptz
);
alter table ops.full_reconciliations add column if not exists as_of date;
alter table ops.loaded_files add column if not exists modified_at timestamptz;
"""
# Feeds whose full reconciliations land every source key (`tracks_deletions`): dbt staging anti-joins
# on it, so it exists after every load of such a feed, empty or not.
DELETED_KEYS_DDL = """
create table if not exists {schema}.deleted_keys (
    source_table varchar, area_code varchar, record_key varchar, detected_at timestamptz, _batch_id varchar
)
"""


class ChecksumMismatch(RuntimeError):
    pass


def raw_schema(feed: str) -> str:
    return f"raw_{feed}"


def ensure_raw_tables(con: duckdb.DuckDBPyConnection, feed: str) -> None:
    """Create the feed's raw tables, empty, if no batch has created them yet: a feed blocked since the
    platform started still gives dbt staging a (typed, empty) table to read, so its KPIs fall back."""
    from ingestion import contract as contracts

    feed_contract = contracts.load_contract(feed)
    schema = raw_schema(feed)
    con.execute(f"create schema if not exists {schema}")
    if registry.feed(feed).tracks_deletions:
        con.execute(DELETED_KEYS_DDL.format(schema=schema))
    for name, table in feed_contract.tables.items():
        arrow = contracts.file_landed_schema(table) if table.file else contracts.landed_schema(table)
        con.register("empty_landed", arrow.empty_table())
        try:
            con.execute(
                f"create table if not exists {schema}.{name} as "
                "select *, ''::varchar as _batch_id, now() as _loaded_at from empty_landed"
            )
            _add_missing_columns(con, schema, name, "empty_landed")
        finally:
            con.unregister("empty_landed")


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
        if registry.feed(manifest.feed).tracks_deletions:
            con.execute(DELETED_KEYS_DDL.format(schema=schema))
        # Full-table scans are skipped where they cannot find anything (they dominate a national first
        # load): rows of this batch exist only if it was loaded before, and keys deleted at source
        # only if an earlier batch of the area was loaded.
        reload = _count(con, "select count(*) from ops.loaded_batches where batch_id = ?", [manifest.batch_id]) > 0
        earlier = _count(
            con,
            "select count(*) from ops.loaded_batches where feed = ? and area_code is not distinct from ? "
            "and batch_id != ?",
            [manifest.feed, manifest.area_code, manifest.batch_id],
        )
        if reload:
            con.execute("delete from ops.rejected_rows where batch_id = ?", [manifest.batch_id])
        for table in manifest.tables:
            _load_table(con, schema, manifest, batch_dir, table, reload=reload, earlier_batches=earlier > 0)
        _record_files(con, manifest)
        if any(t.keys_file for t in manifest.tables):
            con.execute(
                "insert or replace into ops.full_reconciliations (feed, area_code, batch_id, extracted_at, as_of) "
                "values (?, ?, ?, ?, ?)",
                [manifest.feed, manifest.area_code, manifest.batch_id, manifest.extracted_at, manifest.as_of],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return sum(t.rows_loaded for t in manifest.tables)


def _count(con, sql: str, params: list) -> int:
    return con.execute(sql, params).fetchone()[0]


def _load_table(con, schema, manifest, batch_dir: Path, table: landing.TableBatch, *, reload, earlier_batches) -> None:
    target = f"{schema}.{table.table}"
    params = {"batch": manifest.batch_id}
    if table.file:
        source = f"read_parquet('{batch_dir / table.file}')"
        con.execute(
            f"create table if not exists {target} as "
            f"select *, ''::varchar as _batch_id, now() as _loaded_at from {source} limit 0"
        )
        _add_missing_columns(con, schema, table.table, source)
        if reload:
            con.execute(f"delete from {target} where _batch_id = $batch", params)
        con.execute(
            f"insert into {target} by name select *, $batch as _batch_id, now() as _loaded_at from {source}",
            params,
        )
    if table.keys_file and earlier_batches:
        _record_deleted_keys(con, schema, manifest, batch_dir, table)
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
        # A full read sees every row: its newest change is the truth, even below a watermark a slip
        # once pushed into the future. An incremental read only ever moves it on.
        keep = "excluded.watermark" if manifest.mode == "full" else "greatest(watermark, excluded.watermark)"
        con.execute(
            "insert into ops.extract_watermarks values ($feed, $area, $tbl, $wm) on conflict do update "
            f"set watermark = {keep}",
            {
                "feed": manifest.feed,
                "area": manifest.area_code,
                "tbl": table.table,
                "wm": table.max_change_timestamp,
            },
        )


def _add_missing_columns(con, schema: str, name: str, source: str) -> None:
    """Columns a contract's minor version added (its raw table was made before them): added, blank in
    the rows loaded before."""
    present = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }
    for column, column_type, *_ in con.execute(f"describe select * from {source}").fetchall():
        if column not in present:
            con.execute(f'alter table {schema}.{name} add column "{column}" {column_type}')


def _record_deleted_keys(con, schema: str, manifest: landing.Manifest, batch_dir: Path, table: landing.TableBatch):
    """Keys held in raw for this area but absent from the source's full key list are deleted at
    source; the list says what is deleted now, so a key back at source leaves the table."""
    target = f"{schema}.{table.table}"
    if not _table_exists(con, schema, table.table):
        return
    spec = contracts.load_contract(manifest.feed).tables[table.table]
    key = spec.primary_key[0]
    key_column = f"{key}_hash" if spec.columns[key].identifier else key
    params = {"tbl": table.table, "area": manifest.area_code}
    con.execute(
        f"""
        create or replace temp table _now_deleted as
        select distinct {key_column}::varchar as record_key from {target} where area_code = $area
        except
        select record_key from read_parquet('{batch_dir / table.keys_file}')
        """,
        {"area": manifest.area_code},
    )
    con.execute(
        f"delete from {schema}.deleted_keys where source_table = $tbl and area_code = $area "
        "and record_key not in (select record_key from _now_deleted)",
        params,
    )
    con.execute(
        f"insert into {schema}.deleted_keys "
        "select $tbl, $area, record_key, $at, $batch from _now_deleted "
        f"where record_key not in (select record_key from {schema}.deleted_keys "
        "where source_table = $tbl and area_code = $area)",
        {**params, "at": manifest.extracted_at, "batch": manifest.batch_id},
    )
    con.execute("drop table _now_deleted")


def _record_files(con, manifest: landing.Manifest) -> None:
    con.execute("delete from ops.loaded_files where batch_id = ?", [manifest.batch_id])
    for f in manifest.files:
        con.execute(
            "insert into ops.loaded_files (feed, batch_id, file_name, sha256, source_table, file_version, status, "
            "rows_in, rows_loaded, rows_rejected, fields_blanked, contract_version, reason, loaded_at, modified_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
            [
                manifest.feed,
                manifest.batch_id,
                f.name,
                f.sha256,
                f.table,
                f.file_version,
                f.status,
                f.rows_in,
                f.rows_loaded,
                f.rows_rejected,
                f.fields_blanked,
                f.contract_version,
                f.reason,
                f.modified_at,
            ],
        )


def _table_exists(con, schema: str, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def loaded_file_checksums(con: duckdb.DuckDBPyConnection, feed: str) -> set[str]:
    """Files of the feed already handled, for the intake to skip: the sha256 of every file loaded, and
    of every file quarantined with the name it had (`files.handled_key`): renamed, it is read again."""
    from ingestion.files import handled_key

    if not _table_exists(con, "ops", "loaded_files"):
        return set()
    rows = con.execute(
        "select distinct sha256, file_name, status from ops.loaded_files "
        "where feed = ? and status in ('loaded', 'quarantined')",
        [feed],
    ).fetchall()
    return {sha if status == "loaded" else handled_key(sha, name) for sha, name, status in rows}


def loaded_file_names(con: duckdb.DuckDBPyConnection, feed: str) -> dict[str, LoadedName]:
    """File name -> its newest loaded version (sha256, version, modification time) for the feed: a
    changed file under a used name is a new version (DfE revisions) or quarantined (_v2 expected)."""
    from ingestion.files import LoadedName

    if not _table_exists(con, "ops", "loaded_files"):
        return {}
    rows = con.execute(
        "select file_name, arg_max(sha256, file_version), max(file_version), "
        "strftime(arg_max(modified_at, file_version) at time zone 'UTC', '%Y-%m-%dT%H:%M:%S+00:00') "
        "from ops.loaded_files where feed = ? and status = 'loaded' group by file_name",
        [feed],
    ).fetchall()
    return {name: LoadedName(sha, version, modified) for name, sha, version, modified in rows}


def last_full_reconciliation(con: duckdb.DuckDBPyConnection, feed: str, area_code: str) -> str | None:
    """The as-of date of the latest full reconciliation of the feed and area (ISO), or when it was
    extracted for extracts made outside a pipeline run; None if there was none."""
    if not _table_exists(con, "ops", "full_reconciliations"):
        return None
    as_of, at = con.execute(
        "select max(as_of), max(extracted_at) from ops.full_reconciliations where feed = ? and area_code = ?",
        [feed, area_code],
    ).fetchone()
    latest = as_of or at
    return None if latest is None else latest.isoformat()


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


def known(con: duckdb.DuckDBPyConnection, feed: str, area_code: str = "") -> Known:
    """What the warehouse holds of a feed already, for its next read to take only what is new."""
    if registry.feed(feed).kind == "database":
        return Known(
            watermarks=watermarks(con, feed, area_code), last_full_at=last_full_reconciliation(con, feed, area_code)
        )
    return Known(seen=frozenset(loaded_file_checksums(con, feed)), names=loaded_file_names(con, feed))
