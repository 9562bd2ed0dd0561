"""Intake of file feeds (ICB provider files, manual returns, DfE statistics) from a landing folder.

Each run reads every file of the inbox not handled before (by sha256), matches its name to a
contract table, reads it the way the contract says (encoding, byte-order mark, delimiter, header
row, sheet), checks the header by name, validates row by row and lands one Parquet file per
contract table plus rejects and a manifest. A bad file is quarantined with the reason and the
others go on; an unreadable inbox (PermissionError, OSError) propagates: that is an information-
governance or infrastructure problem, not bad data.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import zipfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingestion import contract as contracts
from ingestion import landing

BOM = b"\xef\xbb\xbf"
log = logging.getLogger(__name__)
UNMATCHED = "unmatched_files"  # rejects of files whose name matches no contract table
REJECT_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string()),
        pa.field("row_number", pa.int64()),
        pa.field("record_key", pa.string()),
        pa.field("field", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("action", pa.string()),
    ]
)


class FileRejected(Exception):
    """The whole file is set aside: `row` is 0 for the file itself, else the header row."""

    def __init__(self, field: str, reason: str, row: int = 0):
        super().__init__(reason)
        self.field, self.reason, self.row = field, reason, row


@dataclass
class Delivered:
    """A file read as its contract says: text cells named by the header, with their row numbers."""

    frame: pd.DataFrame
    row_numbers: list[int]
    header_row: int
    sheet: str | None = None
    extra_columns: list[str] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)  # row problems found while reading


@dataclass
class Check:
    """A cross-field rule's finding on validated rows (index aligned with them)."""

    mask: pd.Series
    field: str
    reason: str | pd.Series
    action: str = "rejected"  # rejected | blanked | flagged (kept, reported)


@dataclass
class FeedRules:
    """What differs between file feeds."""

    feed: str
    stop_at_blank_row: bool = False  # rows below the first blank row under the table are not data
    rule_action: str = "rejected"  # what a pattern / minimum / maximum breach does to an optional field
    ignore_suffixes: tuple[str, ...] = ()  # documentation shipped beside the data files
    prepare: Callable[[str, contracts.Table, pd.DataFrame], pd.DataFrame] | None = None
    checks: Callable[[str, contracts.Table, re.Match, pd.DataFrame], list[Check]] | None = None
    message: Callable[[str, str | None, int, str, str], str] | None = None  # file, sheet, row, field, reason


def match_table(feed_contract: contracts.FeedContract, name: str) -> tuple[str, contracts.Table, re.Match] | None:
    for table_name, table in feed_contract.tables.items():
        found = re.fullmatch(table.file.name_pattern, name) if table.file else None
        if found:
            return table_name, table, found
    return None


def file_version(found: re.Match) -> int:
    version = found.groupdict().get("version")
    return int(version) if version else 1


# -- reading ---------------------------------------------------------------------------------


def read_delivered(path: Path, table: contracts.Table, stop_at_blank_row: bool) -> Delivered:
    rules = table.file
    if path.suffix.lower() == ".xlsx":
        rows, sheet = _xlsx_rows(path, rules)
    else:
        rows, sheet = _csv_rows(path, rules), None
    header_at = rules.header_row
    if len(rows) < header_at:
        raise FileRejected("header", f"no header on row {header_at}: the file has {len(rows)} rows")
    header_numbers, header = rows[header_at - 1]
    header = [("" if h is None else str(h)).strip().lstrip("\ufeff") for h in header]
    while header and header[-1] == "":
        header.pop()
    body: list[list] = []
    numbers: list[int] = []
    for number, row in rows[header_at:]:
        if not any(v not in (None, "") for v in row):
            if stop_at_blank_row:
                break
            continue
        body.append(row)
        numbers.append(number)
    extra = check_header(path.name, table, header, header_numbers)
    frame, notes = _frame(path.name, table, header, body, numbers, header_numbers)
    missing = set(rules.missing_values)
    if missing:
        for column in frame.columns:
            frame[column] = frame[column].mask(frame[column].str.strip().isin(missing))
    return Delivered(frame, numbers, header_numbers, sheet, extra, notes)


def check_header(name: str, table: contracts.Table, header: list[str], header_row: int) -> list[str]:
    """Columns by name: missing or renamed ones reject the file; extra ones are reported."""
    rules = table.file
    counts = pd.Series(header).value_counts()
    twice = [h for h, n in counts.items() if n > 1 and h not in rules.duplicate_columns]
    if twice:
        raise FileRejected(", ".join(twice), f"column named twice in the header: {', '.join(twice)}", header_row)
    missing = [c for c in table.columns if c not in header]
    if missing:
        reason = f"columns missing or renamed: {', '.join(missing)}"
        unexpected = [h for h in header if h not in table.columns]
        if len(header) == 1 and rules.delimiter not in header[0] and ";" in header[0]:
            reason += f"; the file looks separated by ';' where '{rules.delimiter}' is expected"
        elif unexpected:
            reason += f" (found instead: {', '.join(unexpected[:5])})"
        raise FileRejected(", ".join(missing), reason, header_row)
    return [h for h in dict.fromkeys(header) if h not in table.columns and h != ""]


def _frame(name, table, header, body, numbers, header_row) -> tuple[pd.DataFrame, list[dict]]:
    width = len(header)
    notes = []
    cells = []
    for number, row in zip(numbers, body, strict=True):
        if any(v not in (None, "") for v in row[width:]):
            notes.append({"row_number": number, "field": "", "reason": "more cells than the header has columns"})
        cells.append(list(row[:width]) + [None] * (width - len(row)))
    frame = pd.DataFrame(cells, columns=range(width), dtype=object)
    columns: dict[str, pd.Series] = {}
    for position, column in enumerate(header):
        if column in columns:  # a duplicated column the contract knows: must repeat the first
            differs = (columns[column].fillna("") != frame[position].fillna("")).to_numpy()
            for number in pd.Series(numbers)[differs]:
                notes.append({"row_number": int(number), "field": column, "reason": "the two columns differ"})
            continue
        columns[column] = frame[position]
    out = pd.DataFrame({c: columns[c].astype("string") for c in header if c in columns and c != ""}, index=frame.index)
    return out, notes


def _csv_rows(path: Path, rules: contracts.FileRules) -> list[tuple[int, list]]:
    raw = path.read_bytes()
    has_bom = raw.startswith(BOM)
    if rules.byte_order_mark == "required" and not has_bom:
        raise FileRejected("file", "no byte-order mark at the start, where the publisher always puts one")
    if rules.byte_order_mark == "forbidden" and has_bom:
        raise FileRejected("file", "starts with a byte-order mark, which this feed does not allow")
    try:
        text = raw.decode("utf-8-sig" if rules.encoding.lower().replace("_", "-") == "utf-8" else rules.encoding)
    except UnicodeDecodeError:
        raise FileRejected("file", f"not readable as {rules.encoding} text (saved in another encoding?)") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=rules.delimiter, quotechar=rules.quote_char)
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, [v if v != "" else None for v in row]))
    except csv.Error as error:
        raise FileRejected("file", f"not a readable CSV file near line {reader.line_num}: {error}") from None
    return rows


def _xlsx_rows(path: Path, rules: contracts.FileRules) -> tuple[list[tuple[int, list]], str]:
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        if isinstance(error, PermissionError):
            raise
        raise FileRejected("file", "not a readable Excel workbook (.xlsx)") from None
    try:
        sheet = rules.sheet or workbook.sheetnames[0]
        if sheet not in workbook.sheetnames:
            raise FileRejected("sheet", f"no sheet named {sheet} (found: {', '.join(workbook.sheetnames)})")
        rows = [
            (number, [_cell_text(v) for v in row])
            for number, row in enumerate(workbook[sheet].iter_rows(values_only=True), start=1)
        ]
    finally:
        workbook.close()
    return rows, sheet


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


# -- the run ---------------------------------------------------------------------------------


@dataclass
class _TableOut:
    name: str
    table: contracts.Table
    rows_path: Path
    rejects_path: Path
    writer: pq.ParquetWriter
    schema: pa.Schema
    rejects: list[pd.DataFrame] = field(default_factory=list)
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    fields_blanked: int = 0
    extra: list[str] = field(default_factory=list)


def intake(
    rules: FeedRules,
    inbox: Path,
    landing_root: Path,
    key: bytes,
    run_id: str,
    seen: set[str],
    loaded_names: Mapping[str, str] | None = None,
    tables: Collection[str] | None = None,
) -> Path:
    """Land every new file of `inbox`; return the manifest path. `seen` holds the sha256 of files
    already handled (`load.loaded_file_checksums`), `loaded_names` name -> sha256 of files loaded
    (`load.loaded_file_names`): a changed file under a used name is quarantined. `tables` limits the
    intake to some of the feed's tables (those whose agreement is live): files of the others are left
    unread in the inbox, to be loaded when their agreement allows."""
    feed_contract = contracts.load_contract(rules.feed)
    names = sorted(p.name for p in inbox.iterdir())  # an unreadable inbox raises here, on purpose
    batch_id = landing.batch_id_for(rules.feed, run_id)
    batch_dir = landing.new_batch_dir(landing_root, rules.feed, batch_id)
    outs: dict[str, _TableOut] = {}
    for table_name, table in feed_contract.tables.items():
        schema = contracts.file_landed_schema(table)
        rows_path = batch_dir / f"{table_name}.parquet"
        outs[table_name] = _TableOut(
            table_name, table, rows_path, batch_dir / f"{table_name}.rejects.parquet",
            pq.ParquetWriter(rows_path, schema), schema,
        )  # fmt: skip
    unmatched: list[pd.DataFrame] = []
    files: list[landing.FileBatch] = []
    run_seen: set[str] = set()
    try:
        for name in names:
            path = inbox / name
            # Hidden files, Excel's "~$" lock files of open workbooks, release notes: not deliveries.
            if name.startswith((".", "~$")) or not path.is_file() or path.suffix.lower() in rules.ignore_suffixes:
                continue
            if tables is not None and (found := match_table(feed_contract, name)) and found[0] not in tables:
                continue
            sha = landing.sha256_of(path)
            batch = landing.FileBatch(
                name=name, sha256=sha, table=None, status="loaded", contract_version=feed_contract.version
            )
            files.append(batch)
            if sha in seen or sha in run_seen:
                batch.status = "already_loaded"
                continue
            run_seen.add(sha)
            found = match_table(feed_contract, name)
            if found is None:
                batch.status, batch.reason = "quarantined", "file name matches no expected pattern"
                patterns = "; ".join(t.file.name_pattern for t in feed_contract.tables.values() if t.file)
                unmatched.append(_file_reject(name, 0, "file name", f"{batch.reason} ({patterns})", rules))
                continue
            table_name, table, groups = found
            batch.table, batch.file_version = table_name, file_version(groups)
            if loaded_names and loaded_names.get(name, sha) != sha:
                batch.status = "quarantined"
                batch.reason = "a different file with this name was already loaded; resend it as a new version (_v2)"
                outs[table_name].rejects.append(_file_reject(name, 0, "file name", batch.reason, rules))
                continue
            _one_file(rules, path, table_name, table, groups, batch, outs[table_name], key)
    finally:
        for out in outs.values():
            out.writer.close()
    tables = [_table_batch(out) for out in outs.values()]
    if unmatched:
        rejects_path = batch_dir / f"{UNMATCHED}.rejects.parquet"
        pq.write_table(_rejects_table(pd.concat(unmatched, ignore_index=True)), rejects_path)
        tables.append(
            landing.TableBatch(
                table=UNMATCHED,
                query="",
                file=None,
                rejects_file=rejects_path.name,
                rows_in=0,
                rows_loaded=0,
                rows_rejected=0,
                fields_blanked=0,
                sha256=None,
                max_change_timestamp=None,
            )
        )
    manifest = landing.Manifest(
        feed=rules.feed,
        batch_id=batch_id,
        run_id=run_id,
        area_code="",
        source=str(inbox),
        contract_version=feed_contract.version,
        extracted_at=landing.utc_now(),
        mode="files",
        tables=tables,
        files=files,
    )
    path = landing.write_manifest(batch_dir, manifest)
    statuses = pd.Series([f.status for f in files], dtype="string").value_counts().to_dict()
    log.info(  # counts and file names only: never a row's content
        "%s batch %s: files %s; rows in %d, loaded %d, rejected %d",
        rules.feed, batch_id, statuses or "none",
        sum(t.rows_in for t in tables), sum(t.rows_loaded for t in tables), sum(t.rows_rejected for t in tables),
    )  # fmt: skip
    return path


def _one_file(rules, path, table_name, table, groups, batch, out: _TableOut, key) -> None:
    name = path.name
    try:
        delivered = read_delivered(path, table, rules.stop_at_blank_row)
    except FileRejected as error:
        batch.status, batch.reason = "quarantined", error.reason
        out.rejects.append(_file_reject(name, error.row, error.field, error.reason, rules))
        return
    frame = delivered.frame
    batch.rows_in = len(frame)
    batch.extra_columns = delivered.extra_columns
    out.rows_in += len(frame)
    out.extra = sorted(set(out.extra) | set(delivered.extra_columns))
    problems: list[pd.DataFrame] = []
    for column in delivered.extra_columns:
        problems.append(_file_reject(name, delivered.header_row, column, "column not in the contract; ignored", rules))
        problems[-1]["action"] = "ignored"
    frame = frame[list(table.columns)]
    if rules.prepare:
        frame = rules.prepare(table_name, table, frame)
    numbers = pd.Series(delivered.row_numbers, dtype="int64")
    checked = contracts.validate(
        name,
        table,
        frame,
        row_numbers=numbers,
        date_formats=table.file.date_formats,
        rule_action=rules.rule_action,
        pseudonym_key=key,
    )
    problems.append(checked.rejects)
    rejected_numbers = set(checked.rejects.loc[checked.rejects["action"] == "rejected", "row_number"].tolist())
    kept = ~numbers.isin(rejected_numbers).to_numpy()
    rows = checked.rows.copy()
    rows_numbers = numbers[kept].reset_index(drop=True)
    keys = contracts.record_keys_of(table, frame[kept].reset_index(drop=True), key)
    if delivered.notes:
        notes = pd.DataFrame(delivered.notes)
        noted = rows_numbers.isin(notes["row_number"])
        problems.append(
            pd.DataFrame(
                {
                    "source": name,
                    "row_number": notes["row_number"],
                    "record_key": None,
                    "field": notes["field"],
                    "reason": notes["reason"],
                    "action": "rejected",
                }
            )
        )
        rows, rows_numbers, keys = rows[~noted].reset_index(drop=True), rows_numbers[~noted], keys[~noted]
        rows_numbers, keys = rows_numbers.reset_index(drop=True), keys.reset_index(drop=True)
    checks = rules.checks(table_name, table, groups, rows) if rules.checks else []
    drop = pd.Series(False, index=rows.index)
    for check in checks:
        if not check.mask.any():
            continue
        mask = check.mask.fillna(False).astype(bool)
        reason = check.reason[mask].to_numpy() if isinstance(check.reason, pd.Series) else check.reason
        problems.append(
            pd.DataFrame(
                {
                    "source": name,
                    "row_number": rows_numbers[mask].to_numpy(),
                    "record_key": keys[mask].to_numpy(),
                    "field": check.field,
                    "reason": reason,
                    "action": check.action,
                }
            )
        )
        if check.action == "rejected":
            drop |= mask
        elif check.action == "blanked":
            rows.loc[mask, check.field] = None
    # A key twice in one file: the first row stands, the repeat is rejected.
    comparable = rows.astype("string").fillna("\x00")
    repeat = comparable.duplicated(subset=table.primary_key) & ~drop
    if repeat.any():
        first = comparable.reset_index().groupby(table.primary_key, dropna=False)["index"].transform("first")
        exact = comparable.duplicated() & repeat
        reason = pd.Series(
            [
                f"{'exact duplicate' if e else 'same key'} of row {rows_numbers[f]}"
                for e, f in zip(exact, first, strict=True)
            ],
            index=rows.index,
        )
        problems.append(
            pd.DataFrame(
                {
                    "source": name,
                    "row_number": rows_numbers[repeat].to_numpy(),
                    "record_key": keys[repeat].to_numpy(),
                    "field": ", ".join(table.primary_key),
                    "reason": reason[repeat].to_numpy(),
                    "action": "rejected",
                }
            )
        )
        drop |= repeat
    rows, rows_numbers = rows[~drop].reset_index(drop=True), rows_numbers[~drop.to_numpy()].reset_index(drop=True)
    landed = contracts.pseudonymise(table, rows, key, scope="")
    landed["_source_file"] = name
    landed["_source_row"] = rows_numbers.to_numpy()
    landed["_file_version"] = batch.file_version
    out.writer.write_table(pa.Table.from_pandas(landed[out.schema.names], preserve_index=False).cast(out.schema))
    rejects = pd.concat([p for p in problems if len(p)], ignore_index=True) if any(len(p) for p in problems) else None
    rejected = 0
    if rejects is not None:
        rejected = rejects.loc[rejects["action"] == "rejected", "row_number"].nunique()
        batch.fields_blanked = int((rejects["action"] == "blanked").sum())
        if rules.message:
            rejects["reason"] = [
                rules.message(name, delivered.sheet, int(r), str(f), str(why))
                for r, f, why in zip(rejects["row_number"], rejects["field"], rejects["reason"], strict=True)
            ]
        out.rejects.append(rejects)
    batch.rows_loaded, batch.rows_rejected = len(landed), int(rejected)
    if batch.rows_in != batch.rows_loaded + batch.rows_rejected:  # never silently lose a row
        raise RuntimeError(f"{name}: {batch.rows_in} rows read, {batch.rows_loaded} landed + {rejected} rejected")
    out.rows_loaded += batch.rows_loaded
    out.rows_rejected += batch.rows_rejected
    out.fields_blanked += batch.fields_blanked


def _file_reject(name: str, row: int, field_name: str, reason: str, rules: FeedRules) -> pd.DataFrame:
    if rules.message:
        reason = rules.message(name, None, row, field_name, reason)
    return pd.DataFrame(
        [
            {
                "source": name,
                "row_number": row,
                "record_key": None,
                "field": field_name,
                "reason": reason,
                "action": "quarantined",
            }
        ]
    )


def _rejects_table(frame: pd.DataFrame) -> pa.Table:
    frame = frame.astype({"row_number": "int64"}).astype(
        {c: "string" for c in ("source", "record_key", "field", "reason", "action")}
    )
    return pa.Table.from_pandas(frame[REJECT_SCHEMA.names], preserve_index=False).cast(REJECT_SCHEMA)


def _table_batch(out: _TableOut) -> landing.TableBatch:
    rejects_file = None
    if out.rejects:
        pq.write_table(_rejects_table(pd.concat(out.rejects, ignore_index=True)), out.rejects_path)
        rejects_file = out.rejects_path.name
    return landing.TableBatch(
        table=out.name,
        query=f"files matching {out.table.file.name_pattern}",
        file=out.rows_path.name,
        rejects_file=rejects_file,
        rows_in=out.rows_in,
        rows_loaded=out.rows_loaded,
        rows_rejected=out.rows_rejected,
        fields_blanked=out.fields_blanked,
        sha256=landing.sha256_of(out.rows_path),
        max_change_timestamp=None,
        extra_columns=out.extra,
    )
