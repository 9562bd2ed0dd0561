"""Extract the LA case-management tables to the landing area.

Incremental on each table's change timestamp (>= the stored watermark, so rows committed late
with the same timestamp are not missed; staging keeps the newest version of each key). Streams in
chunks so memory stays flat as tables grow.

Periodically (every `full_every_days`, and on the first run) the extract is a full
reconciliation: every row is read again (which also catches corrections saved without a new
timestamp) and the primary keys present at source are landed, so the load can record keys
deleted at source in raw_la_case_management.deleted_keys.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from ingestion import contract as contracts
from ingestion import landing

FEED = "la_case_management"
log = logging.getLogger(__name__)


def _safe_url(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def extract(
    url: str,
    area_code: str,
    landing_root: Path,
    key: bytes,
    run_id: str,
    watermarks: dict[str, str] | None = None,
    chunk_rows: int = 50_000,
    *,
    mode: Literal["auto", "incremental", "full"] = "auto",
    last_full_at: str | None = None,
    full_every_days: int = 7,
    as_of: dt.date | None = None,
) -> Path:
    """Land every contract table of the source at `url`; return the manifest path.

    `mode="auto"` runs a full reconciliation when there are no watermarks yet, or when the latest
    one (`last_full_at`, from `load.last_full_reconciliation`) is `full_every_days` old or older,
    counted in the pipeline's as-of dates when `as_of` is given (a catch-up of many past dates
    within minutes still reconciles every week of data), else on the wall clock.
    """
    feed_contract = contracts.load_contract(FEED)
    watermarks = watermarks or {}
    full = reconciliation_due(mode, bool(watermarks), last_full_at, full_every_days, as_of)
    if full:
        watermarks = {}
    batch_id = landing.batch_id_for(FEED, run_id)
    batch_dir = landing.new_batch_dir(landing_root, FEED, batch_id)
    engine = sa.create_engine(url)
    tables: list[landing.TableBatch] = []
    try:
        inspector = sa.inspect(engine)
        for name, spec in feed_contract.tables.items():
            source = f"{FEED}.{name}"
            present = [c["name"] for c in inspector.get_columns(name)]
            extra = contracts.check_columns(source, spec, present)
            tables.append(
                _extract_table(
                    engine,
                    name,
                    spec,
                    source,
                    area_code,
                    batch_dir,
                    key,
                    watermarks.get(name),
                    chunk_rows,
                    extra,
                    full,
                )
            )
    finally:
        engine.dispose()
    manifest = landing.Manifest(
        feed=FEED,
        batch_id=batch_id,
        run_id=run_id,
        area_code=area_code,
        source=_safe_url(url),
        contract_version=feed_contract.version,
        extracted_at=landing.utc_now(),
        as_of=None if as_of is None else as_of.isoformat(),
        mode="full" if full else "incremental",
        tables=tables,
    )
    path = landing.write_manifest(batch_dir, manifest)
    log.info(  # counts only: never a row's content
        "%s %s batch %s (%s): rows in %d, loaded %d, rejected %d",
        FEED, area_code, batch_id, manifest.mode,
        manifest.rows_in, sum(t.rows_loaded for t in tables), sum(t.rows_rejected for t in tables),
    )  # fmt: skip
    return path


def reconciliation_due(
    mode: str, has_watermarks: bool, last_full_at: str | None, every_days: int, as_of: dt.date | None = None
) -> bool:
    if mode != "auto":
        return mode == "full"
    if not has_watermarks or last_full_at is None:
        return True
    if as_of is not None:
        return (as_of - pd.Timestamp(last_full_at).date()).days >= every_days
    last = pd.Timestamp(last_full_at)
    last = last.tz_localize("UTC") if last.tzinfo is None else last.tz_convert("UTC")
    age = pd.Timestamp(dt.datetime.now(dt.UTC)) - last
    return age >= dt.timedelta(days=every_days)


def _source_keys(spec, chunk: pd.DataFrame, key: bytes, area_code: str) -> pa.Table:
    """Primary keys present at source, as raw holds them (an identifier key hashed)."""
    keys = contracts.record_keys_of(spec, chunk, key, area_code)
    return pa.table({"record_key": pa.array(keys.astype(object).where(keys != "", None), pa.string())})


def _extract_table(engine, name, spec, source, area_code, batch_dir, key, watermark, chunk_rows, extra, full):
    table = sa.table(name, *(sa.column(c) for c in spec.columns))
    query = sa.select(*table.c).order_by(*(table.c[k] for k in spec.primary_key))
    if watermark and spec.change_timestamp:
        query = query.where(table.c[spec.change_timestamp] >= sa.literal(pd.Timestamp(watermark).to_pydatetime()))
    rows_path, rejects_path = batch_dir / f"{name}.parquet", batch_dir / f"{name}.rejects.parquet"
    schema = contracts.landed_schema(spec)
    keys_path = batch_dir / f"{name}.keys.parquet"
    # Beyond a year ahead a date is a slip (2034 for 2024) or a placeholder (2099-12-31): flagged.
    implausible_after = pd.Timestamp.now().normalize() + pd.DateOffset(years=1)
    # Always written, even empty, so every contract table exists in raw from the first load on.
    writer = pq.ParquetWriter(rows_path, schema)
    rejects_writer = keys_writer = None
    rows_in = rows_loaded = fields_blanked = 0
    rejected_rows: set[int] = set()
    max_change = None
    with engine.connect().execution_options(stream_results=True, yield_per=chunk_rows) as conn:
        for chunk in pd.read_sql(query, conn, chunksize=chunk_rows):
            if full:
                keys = _source_keys(spec, chunk, key, area_code)
                keys_writer = keys_writer or pq.ParquetWriter(keys_path, keys.schema)
                keys_writer.write_table(keys)
            checked = contracts.validate(
                source,
                spec,
                chunk,
                first_row=rows_in + 1,
                rule_action="blanked",
                pseudonym_key=key,
                scope=area_code,
                flag_dates_after=implausible_after,
            )
            rows_in += len(chunk)
            landed = contracts.pseudonymise(spec, checked.rows, key, scope=area_code)
            landed.insert(0, "area_code", area_code)
            if len(landed):
                landed = landed[schema.names]
                writer.write_table(pa.Table.from_pandas(landed, preserve_index=False).cast(schema))
                rows_loaded += len(landed)
                if spec.change_timestamp:
                    top = landed[spec.change_timestamp].max()
                    max_change = top if max_change is None or top > max_change else max_change
            if len(checked.rejects):
                rejects = checked.rejects.astype({"row_number": "int64"}).astype(
                    {c: "string" for c in ("source", "record_key", "field", "reason", "action")}
                )
                blocked = rejects[rejects["action"] == "rejected"]
                rejected_rows.update(blocked["row_number"].tolist())
                fields_blanked += int((rejects["action"] == "blanked").sum())
                rej_arrow = pa.Table.from_pandas(rejects, preserve_index=False)
                rejects_writer = rejects_writer or pq.ParquetWriter(rejects_path, rej_arrow.schema)
                rejects_writer.write_table(rej_arrow.cast(rejects_writer.schema))
    if full and keys_writer is None:  # the table is empty at source: every key held is deleted
        keys_writer = pq.ParquetWriter(keys_path, pa.schema([pa.field("record_key", pa.string())]))
    for w in (writer, rejects_writer, keys_writer):
        if w is not None:
            w.close()
    if rows_in != rows_loaded + len(rejected_rows):  # never silently lose a row
        raise RuntimeError(f"{source}: {rows_in} rows read but {rows_loaded} landed + {len(rejected_rows)} rejected")
    return landing.TableBatch(
        table=name,
        query=str(query.compile(compile_kwargs={"literal_binds": True})),
        file=rows_path.name,
        rejects_file=rejects_path.name if rejects_writer else None,
        rows_in=rows_in,
        rows_loaded=rows_loaded,
        rows_rejected=len(rejected_rows),
        fields_blanked=fields_blanked,
        sha256=landing.sha256_of(rows_path),
        max_change_timestamp=None if max_change is None else pd.Timestamp(max_change).isoformat(),
        extra_columns=extra,
        keys_file=keys_path.name if full else None,
    )
