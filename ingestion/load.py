"""Load a landed batch into the DuckDB raw schema, idempotently.

Each table of the batch is replaced by batch id inside one transaction (delete the batch's rows,
insert them again), so loading the same batch twice, or retrying after a crash half-way, leaves
exactly the same rows. Raw tables keep every extracted version; staging picks the newest.
"""

from __future__ import annotations

import contextlib
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
    return load_batches(con, [manifest_path])


def load_batches(con: duckdb.DuckDBPyConnection, manifest_paths: list[Path]) -> int:
    """Load batches of one feed (a run's batch of every LA) in one transaction, one insert per raw table
    for all of them (per-batch statements dominated a national load: 153 LAs x 14 tables); return the
    rows loaded. Two batches of one LA go in turn: the second's deleted keys are judged after the first."""
    if not manifest_paths:
        return 0
    batches = [(landing.read_manifest(path), path.parent) for path in manifest_paths]
    feeds = {manifest.feed for manifest, _ in batches}
    if len(feeds) != 1:
        raise ValueError(f"batches of one feed are loaded together, not of {', '.join(sorted(feeds))}")
    for manifest, batch_dir in batches:
        for table in manifest.tables:
            if table.file and landing.sha256_of(batch_dir / table.file) != table.sha256:
                raise ChecksumMismatch(f"{batch_dir / table.file}: checksum differs from the manifest")
    rounds: list[list[tuple[landing.Manifest, Path]]] = []
    for batch in batches:  # each round holds an LA at most once
        waiting = next((r for r in rounds if all(m.area_code != batch[0].area_code for m, _ in r)), None)
        waiting.append(batch) if waiting is not None else rounds.append([batch])
    con.execute("begin transaction")
    try:
        con.execute(OPS_DDL)
        schema = raw_schema(feeds.pop())
        con.execute(f"create schema if not exists {schema}")
        if registry.feed(batches[0][0].feed).tracks_deletions:
            con.execute(DELETED_KEYS_DDL.format(schema=schema))
        for round_ in rounds:
            _load_round(con, schema, round_)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return sum(t.rows_loaded for manifest, _ in batches for t in manifest.tables)


def _load_round(con, schema: str, batches: list[tuple[landing.Manifest, Path]]) -> None:
    feed = batches[0][0].feed
    ids = [manifest.batch_id for manifest, _ in batches]
    # Full-table scans are skipped where they cannot find anything (they dominate a national first
    # load): rows of a batch exist only if it was loaded before, and keys deleted at source only if an
    # earlier batch of the area was loaded.
    reloaded = [r[0] for r in con.execute(
        "select distinct batch_id from ops.loaded_batches where list_contains($ids, batch_id)", {"ids": ids}
    ).fetchall()]  # fmt: skip
    with_earlier = {r[0] for r in con.execute(
        "select distinct coalesce(area_code, '') from ops.loaded_batches where feed = $feed "
        "and not list_contains($ids, batch_id)", {"feed": feed, "ids": ids}
    ).fetchall()}  # fmt: skip
    if reloaded:
        con.execute("delete from ops.rejected_rows where list_contains($ids, batch_id)", {"ids": reloaded})
    names = list(dict.fromkeys(t.table for manifest, _ in batches for t in manifest.tables))
    for name in names:
        tables = [(m, d, t) for m, d in batches for t in m.tables if t.table == name]
        _insert_files(con, schema, name, [(d / t.file, m.batch_id) for m, d, t in tables if t.file], reloaded)
        rejects = [(d / t.rejects_file, m.batch_id) for m, d, t in tables if t.rejects_file]
        if rejects:
            with _batch_files(con, rejects) as (files, source):
                con.execute(
                    "insert into ops.rejected_rows by name select $feed as feed, b.batch_id, r.* exclude (filename) "
                    f"from {source} r join {files} b on r.filename = b.filename",
                    {"feed": feed},
                )
        for manifest, batch_dir, table in tables:
            if table.keys_file and (manifest.area_code or "") in with_earlier:
                _record_deleted_keys(con, schema, manifest, batch_dir, table)
    _record_batches(con, [m for m, _ in batches])
    for manifest, _ in batches:
        _record_files(con, manifest)
        if any(t.keys_file for t in manifest.tables):
            con.execute(
                "insert or replace into ops.full_reconciliations (feed, area_code, batch_id, extracted_at, as_of) "
                "values (?, ?, ?, ?, ?)",
                [manifest.feed, manifest.area_code, manifest.batch_id, manifest.extracted_at, manifest.as_of],
            )


def _insert_files(con, schema: str, name: str, files: list[tuple[Path, str]], reloaded: list[str]) -> None:
    """Every batch's landed rows of one table, in one insert, each row with its batch id."""
    if not files:
        return
    target = f"{schema}.{name}"
    with _batch_files(con, files) as (listed, source):
        con.execute(
            f"create table if not exists {target} as "
            f"select * exclude (filename), ''::varchar as _batch_id, now() as _loaded_at from {source} limit 0"
        )
        _add_missing_columns(con, schema, name, f"(select * exclude (filename) from {source})")
        if reloaded:
            con.execute(f"delete from {target} where list_contains($ids, _batch_id)", {"ids": reloaded})
        con.execute(
            f"insert into {target} by name select r.* exclude (filename), b.batch_id as _batch_id, "
            f"now() as _loaded_at from {source} r join {listed} b on r.filename = b.filename"
        )


@contextlib.contextmanager
def _batch_files(con, files: list[tuple[Path, str]]):
    """(a relation of file name -> batch id, read_parquet over all the files with each row's file name)."""
    import pyarrow as pa

    listing = pa.table({"filename": [str(f) for f, _ in files], "batch_id": [b for _, b in files]})
    con.register("_batch_files", listing)
    try:
        paths = ", ".join("'" + str(f).replace("'", "''") + "'" for f, _ in files)
        yield "_batch_files", f"read_parquet([{paths}], filename = true, union_by_name = true)"
    finally:
        con.unregister("_batch_files")


def _record_batches(con, manifests: list[landing.Manifest]) -> None:
    """ops.loaded_batches rows and watermarks of every table of every batch, one statement each."""
    import pyarrow as pa

    rows = [
        {
            "feed": m.feed, "batch_id": m.batch_id, "run_id": m.run_id, "area_code": m.area_code,
            "source_table": t.table, "contract_version": m.contract_version, "extracted_at": m.extracted_at,
            "rows_in": t.rows_in, "rows_loaded": t.rows_loaded, "rows_rejected": t.rows_rejected,
            "fields_blanked": t.fields_blanked, "sha256": t.sha256, "watermark": t.max_change_timestamp,
            "is_full": m.mode == "full",
        }
        for m in manifests
        for t in m.tables
    ]  # fmt: skip
    if not rows:  # batches without tables: nothing to record
        return
    con.register("_batches", pa.Table.from_pylist(rows))
    try:
        con.execute(
            "insert or replace into ops.loaded_batches select feed, batch_id, run_id, area_code, source_table, "
            "contract_version, extracted_at::timestamptz, rows_in, rows_loaded, rows_rejected, fields_blanked, "
            "sha256, now() from _batches"
        )
        # A full read sees every row: its newest change is the truth, even below a watermark a slip once
        # pushed into the future. An incremental read only ever moves it on.
        for full, keep in ((True, "excluded.watermark"), (False, "greatest(watermark, excluded.watermark)")):
            con.execute(
                "insert into ops.extract_watermarks select feed, area_code, source_table, watermark::timestamp "
                f"from _batches where watermark is not null and is_full = {full} "
                f"on conflict do update set watermark = {keep}"
            )
    finally:
        con.unregister("_batches")


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
