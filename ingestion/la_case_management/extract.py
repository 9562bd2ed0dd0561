"""Extract the LA case-management tables to the landing area.

Incremental on each table's change timestamp (>= the stored watermark, so rows committed late
with the same timestamp are not missed; staging keeps the newest version of each key). Streams in
chunks so memory stays flat as tables grow.

Periodically (every `full_every_days`, and on the first run) the extract is a full
reconciliation: every row is read again (which also catches corrections saved without a new
timestamp) and the primary keys present at source are landed, so the load can record keys
deleted at source in raw_la_case_management.deleted_keys.

Before any table is read, every contract table and column is checked at source, so one
ContractDriftError names all the drift. Values are taken as the source typed them (integers stay
integers, time-zone-aware timestamps become UK wall time); rows repeating a primary key are
rejected; the watermark never passes the time the extract started.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.dialects import mssql

from ingestion import contract as contracts
from ingestion import identifiers, landing
from ingestion.feed import ReadRequest

FEED = "la_case_management"
UK = ZoneInfo("Europe/London")
log = logging.getLogger(__name__)


def _safe_url(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def uk_now() -> dt.datetime:
    """UK wall-clock time without a zone: how case-management systems write their change timestamps."""
    return dt.datetime.now(UK).replace(tzinfo=None)


@dataclass(frozen=True)
class _Run:
    """What every table of one extract shares."""

    area_code: str
    batch_dir: Path
    key: bytes
    chunk_rows: int
    full: bool
    started: dt.datetime  # UK wall time: no watermark passes it


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
    started = uk_now()
    feed_contract = contracts.load_contract(FEED)
    watermarks = watermarks or {}
    full = reconciliation_due(mode, bool(watermarks), last_full_at, full_every_days, as_of)
    if full:
        watermarks = {}
    # A watermark after the start was stored before the cap (a 2099 slip): reading from it would miss
    # every real change, so that table is read whole while it stays in ops.extract_watermarks.
    ahead = sorted(t for t, mark in watermarks.items() if pd.Timestamp(mark) > pd.Timestamp(started))
    if ahead:
        log.warning("%s %s: watermark in the future, read in full: %s", FEED, area_code, ", ".join(ahead))
        watermarks = {t: mark for t, mark in watermarks.items() if t not in ahead}
    batch_id = landing.batch_id_for(FEED, run_id, area_code)
    engine = sa.create_engine(url)
    tables: list[landing.TableBatch] = []
    try:
        source_columns = _source_columns(engine, feed_contract)
        batch_dir = landing.new_batch_dir(landing_root, FEED, batch_id)
        run = _Run(area_code, batch_dir, key, chunk_rows, full, started)
        for name, spec in feed_contract.tables.items():
            tables.append(_extract_table(engine, name, spec, run, watermarks.get(name), source_columns[name]))
    finally:
        engine.dispose()
        contracts.forget_hashes()  # no raw identifier outlives the extract that read it
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


def _source_columns(engine: sa.Engine, feed_contract: contracts.FeedContract) -> dict[str, dict[str, object]]:
    """Each contract table's columns at source with their SQL types; every missing table and column
    of every table is named in one ContractDriftError (a data problem for the source's owner, not a
    crash), before anything is extracted."""
    inspector = sa.inspect(engine)
    found: dict[str, dict[str, object]] = {}
    drift: list[str] = []
    for name, spec in feed_contract.tables.items():
        source = f"{FEED}.{name}"
        try:
            columns = {c["name"]: c["type"] for c in inspector.get_columns(name)}
        except sa.exc.NoSuchTableError:
            drift.append(f"{source}: table missing from source")
            continue
        try:
            contracts.check_columns(source, spec, list(columns))
        except contracts.ContractDriftError as error:
            drift.append(str(error))
        found[name] = columns
    if drift:
        raise contracts.ContractDriftError("; ".join(drift))
    return found


def read(request: ReadRequest) -> Path:
    """The feed's entry point (feed.py): extract the LA database at `request.location`."""
    return extract(
        request.location,
        request.area_code,
        request.landing_dir,
        request.key,
        run_id=request.run_id,
        watermarks=request.known.watermarks,
        last_full_at=request.known.last_full_at,
        as_of=request.as_of,
    )


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


def _source_keys(keys: pd.Series) -> pa.Table:
    """Primary keys present at source, as raw holds them (an identifier key hashed)."""
    return pa.table({"record_key": pa.array(keys.astype(object).where(keys != "", None), pa.string())})


# Arrow types a value keeps as read; anything else (uuid, binary) is read as its own text.
_KEPT_TYPES = (
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_decimal,
    pa.types.is_timestamp,
    pa.types.is_date,
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_null,
)


def _column(values: Sequence) -> pd.Series:
    """One column of a chunk, typed by the values the driver returned. pandas would turn an integer
    column with NULLs into floats (id 1234567890123 -> "1234567890123.0", code 1 -> "1.0") and
    decimals into floats; Arrow keeps integers (nullable) and decimals exact. A time-zone-aware
    timestamp becomes UK wall time, like the naive ones the contract expects, so a date stored as
    one keeps its UK calendar date. A flag (SQL Server bit, boolean) reads 1 / 0, as contract codes
    and flags are written."""
    values = list(values)  # Arrow reads a list ten times faster than a tuple
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pd.Series(values, dtype=object)  # mixed types (SQLite holds anything anywhere): each its own text
    if pa.types.is_boolean(array.type):
        array = pc.cast(array, pa.int8())
    elif not any(kept(array.type) for kept in _KEPT_TYPES):
        return pd.Series(values, dtype=object)
    series = pd.Series(pd.arrays.ArrowExtensionArray(array))
    if pa.types.is_timestamp(array.type) and array.type.tz is not None:
        series = series.dt.tz_convert(UK).dt.tz_localize(None)
    return series


def _frame(names: list[str], rows: Sequence[Sequence]) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pd.DataFrame({name: _column(values) for name, values in zip(names, columns, strict=True)})


def _key_text(spec: contracts.Table, frame: pd.DataFrame) -> pd.Series:
    """Each row's primary key as raw will hold it (identifier parts as they are hashed: without
    spaces, upper case); NA where a part is missing (validation rejects those)."""
    parts = []
    for name in spec.primary_key:
        text = contracts.cells(frame[name])
        if spec.columns[name].identifier is not None:
            text = identifiers.as_hashed(text)
        parts.append(text)
    key = pc.binary_join_element_wise(*parts, pa.scalar("\x1f", pa.large_string()))  # null where a part is null
    return pd.Series(pd.arrays.ArrowStringArray(key))


def _is_zoned(sql_type: object) -> bool:
    return bool(getattr(sql_type, "timezone", False)) or isinstance(sql_type, mssql.DATETIMEOFFSET)


def _since(column: sa.ColumnClause, watermark: str, sql_type: object) -> sa.ColumnElement[bool]:
    """Rows changed at or after the watermark (UK wall time). A column with a time zone is compared
    with the watermark's instant in the UK: the session's zone (often UTC) would shift it an hour in
    summer and miss changes. In the repeated autumn hour the earlier instant is taken (reads more)."""
    since = pd.Timestamp(watermark)
    if _is_zoned(sql_type):
        since = since.tz_localize(UK, ambiguous=True, nonexistent="shift_backward")
        return column >= sa.literal(since.to_pydatetime(), type_=sql_type)
    return column >= sa.literal(since.to_pydatetime())


def _extract_table(engine, name, spec, run: _Run, watermark: str | None, columns: dict[str, object]):
    table = sa.table(name, *(sa.column(c) for c in spec.columns if c in columns))
    # A contract column the source may lack (may_be_absent) and does lack is read as blank.
    selected = [table.c[c] if c in columns else sa.null().label(c) for c in spec.columns]
    query = sa.select(*selected).order_by(*(table.c[k] for k in spec.primary_key))
    if watermark and spec.change_timestamp:
        query = query.where(_since(table.c[spec.change_timestamp], watermark, columns[spec.change_timestamp]))
    out = _TableLanding(name, spec, run)
    names = list(spec.columns)
    read = 0
    # Rows repeating a key sit together (ordered by primary key) but may straddle two chunks: the
    # rows of a chunk's last key wait for the next chunk, unless none follows (one look ahead).
    held: tuple[pd.DataFrame, np.ndarray, pd.Series] | None = None
    with engine.connect().execution_options(stream_results=True, yield_per=run.chunk_rows) as conn:
        partitions = conn.execute(query).partitions()
        rows = next(partitions, None)
        while rows is not None:
            following = next(partitions, None)
            frame = _frame(names, rows)
            numbers = np.arange(read + 1, read + len(frame) + 1)
            read += len(frame)
            keys = _key_text(spec, frame)
            if held is not None:
                frame = pd.concat([held[0], frame], ignore_index=True)
                numbers = np.concatenate([held[1], numbers])
                keys = pd.concat([held[2], keys], ignore_index=True)
            hold = np.zeros(len(frame), bool)
            if following is not None and pd.notna(keys.iloc[-1]):
                hold = keys.eq(keys.iloc[-1]).fillna(False).to_numpy(bool)
            held = (frame[hold].reset_index(drop=True), numbers[hold], keys[hold].reset_index(drop=True))
            held = held if hold.any() else None
            out.add(frame[~hold].reset_index(drop=True), numbers[~hold], keys[~hold].reset_index(drop=True))
            rows = following
    batch = out.close(
        str(query.compile(compile_kwargs={"literal_binds": True})), [c for c in columns if c not in spec.columns]
    )
    if batch.rows_in != read:  # never silently lose a row
        raise RuntimeError(f"{out.source}: {read} rows read but {batch.rows_in} handled")
    return batch


class _TableLanding:
    """One table's landed rows, rejects and (full reconciliation) source keys, written chunk by chunk."""

    def __init__(self, name: str, spec: contracts.Table, run: _Run):
        self.name, self.spec, self.run = name, spec, run
        self.source = f"{FEED}.{name}"
        self.rows_path = run.batch_dir / f"{name}.parquet"
        self.rejects_path = run.batch_dir / f"{name}.rejects.parquet"
        self.keys_path = run.batch_dir / f"{name}.keys.parquet"
        self.schema = contracts.landed_schema(spec)
        # Beyond a year ahead a date is a slip (2034 for 2024) or a placeholder (2099-12-31): flagged.
        self.implausible_after = pd.Timestamp.now().normalize() + pd.DateOffset(years=1)
        # Always written, even empty, so every contract table exists in raw from the first load on.
        self.writer = pq.ParquetWriter(self.rows_path, self.schema)
        self.rejects_writer: pq.ParquetWriter | None = None
        self.keys_writer: pq.ParquetWriter | None = None
        self.rows_in = self.rows_loaded = self.fields_blanked = 0
        self.rejected_rows: set[int] = set()
        self.max_change: pd.Timestamp | None = None

    def add(self, frame: pd.DataFrame, numbers: np.ndarray, keys: pd.Series) -> None:
        """Validate, pseudonymise and land rows numbered `numbers` in the read order; `keys` from `_key_text`."""
        if not len(frame):
            return
        spec, run = self.spec, self.run
        self.rows_in += len(frame)
        # Each row's key as raw holds it, hashed once for the source keys, the rejects and validation.
        record_keys = contracts.record_keys_of(spec, frame, run.key, run.area_code)
        if run.full:  # a key repeated at source is still present at source: never recorded as deleted
            keys_table = _source_keys(record_keys)
            self.keys_writer = self.keys_writer or pq.ParquetWriter(self.keys_path, keys_table.schema)
            self.keys_writer.write_table(keys_table)
        problems = []
        repeated = (keys.notna() & keys.duplicated(keep=False)).to_numpy(bool)
        if repeated.any():
            problems.append(self._repeated_keys(numbers[repeated], keys[repeated], record_keys[repeated]))
            frame, numbers = frame[~repeated].reset_index(drop=True), numbers[~repeated]
            record_keys = record_keys[~repeated]
        if len(frame):
            checked = contracts.validate(
                self.source,
                spec,
                frame,
                row_numbers=numbers,
                rule_action="blanked",
                pseudonym_key=run.key,
                scope=run.area_code,
                flag_dates_after=self.implausible_after,
                record_keys=record_keys,
            )
            found = checked.rejects
            if spec.change_timestamp and len(checked.rows):
                rejected = found.loc[found["action"] == "rejected", "row_number"].to_numpy()
                passed = numbers[~np.isin(numbers, rejected)]
                found = self._watch_change_timestamps(checked, passed, found, problems)
            problems.append(found)
            self._land(checked.rows)
        problems = [p for p in problems if len(p)]
        if problems:
            self._write_rejects(pd.concat(problems, ignore_index=True))

    def _repeated_keys(self, numbers: np.ndarray, keys: pd.Series, record_keys: pd.Series) -> pd.DataFrame:
        """Every row of a key repeated at source is rejected: which of them is the record is for the
        source to decide, and one of them loaded now would fail the warehouse's unique tests later."""
        shared = keys.map(keys.value_counts()).to_numpy()
        return pd.DataFrame(
            {
                "source": self.source,
                "row_number": numbers,
                "record_key": record_keys.to_numpy(),
                "field": ", ".join(self.spec.primary_key),
                "reason": [
                    f"primary key repeated at source: {n} rows share it; none loaded until the source is fixed"
                    for n in shared
                ],
                "action": "rejected",
            }
        )

    def _watch_change_timestamps(
        self, checked: contracts.Validated, passed: np.ndarray, found: pd.DataFrame, problems: list
    ) -> pd.DataFrame:
        """Move the watermark with change timestamps up to the extract's start only, and flag those
        later than the moment they were read: a typing slip (2099) must not hide every real change
        made after it until the next full reconciliation. Rows saved while the extract runs are
        neither flagged nor trusted for the watermark (the next extract reads them again)."""
        column = self.spec.change_timestamp
        changed = checked.rows[column]
        in_time = changed[changed <= self.run.started].max()
        if pd.notna(in_time) and (self.max_change is None or in_time > self.max_change):
            self.max_change = in_time
        read_at = uk_now()
        future = (changed > read_at).fillna(False).to_numpy(bool)
        if not future.any():
            return found
        # This flag says more than the generic "a year ahead" one on the same field: keep only this one.
        generic = (found["field"] == column) & (found["action"] == "flagged") & found["row_number"].isin(passed[future])
        problems.append(
            pd.DataFrame(
                {
                    "source": self.source,
                    "row_number": passed[future],
                    "record_key": checked.record_keys.to_numpy()[future],
                    "field": column,
                    "reason": [
                        f"change timestamp in the future: '{when:%Y-%m-%d %H:%M:%S}' is after the time it was read "
                        f"({read_at:%Y-%m-%d %H:%M} UK time); loaded, but the watermark does not move past it"
                        for when in changed[future]
                    ],
                    "action": "flagged",
                }
            )
        )
        return found[~generic]

    def _land(self, rows: pd.DataFrame) -> None:
        landed = contracts.pseudonymise(self.spec, rows, self.run.key, scope=self.run.area_code)
        landed.insert(0, "area_code", self.run.area_code)
        if len(landed):
            landed = landed[self.schema.names]
            self.writer.write_table(pa.Table.from_pandas(landed, preserve_index=False).cast(self.schema))
            self.rows_loaded += len(landed)

    def _write_rejects(self, rejects: pd.DataFrame) -> None:
        rejects = rejects[contracts.REJECT_COLUMNS].astype({"row_number": "int64"})
        rejects = rejects.astype({c: "string" for c in ("source", "record_key", "field", "reason", "action")})
        self.rejected_rows.update(rejects.loc[rejects["action"] == "rejected", "row_number"].tolist())
        self.fields_blanked += int((rejects["action"] == "blanked").sum())
        arrow = pa.Table.from_pandas(rejects, preserve_index=False)
        self.rejects_writer = self.rejects_writer or pq.ParquetWriter(self.rejects_path, arrow.schema)
        self.rejects_writer.write_table(arrow.cast(self.rejects_writer.schema))

    def close(self, query: str, extra: list[str]) -> landing.TableBatch:
        if self.run.full and self.keys_writer is None:  # the table is empty at source: every key held is deleted
            self.keys_writer = pq.ParquetWriter(self.keys_path, pa.schema([pa.field("record_key", pa.string())]))
        for w in (self.writer, self.rejects_writer, self.keys_writer):
            if w is not None:
                w.close()
        if self.rows_in != self.rows_loaded + len(self.rejected_rows):  # never silently lose a row
            raise RuntimeError(
                f"{self.source}: {self.rows_in} rows read but {self.rows_loaded} landed + "
                f"{len(self.rejected_rows)} rejected"
            )
        return landing.TableBatch(
            table=self.name,
            query=query,
            file=self.rows_path.name,
            rejects_file=self.rejects_path.name if self.rejects_writer else None,
            rows_in=self.rows_in,
            rows_loaded=self.rows_loaded,
            rows_rejected=len(self.rejected_rows),
            fields_blanked=self.fields_blanked,
            sha256=landing.sha256_of(self.rows_path),
            max_change_timestamp=None if self.max_change is None else pd.Timestamp(self.max_change).isoformat(),
            extra_columns=extra,
            keys_file=self.keys_path.name if self.run.full else None,
        )
