"""Intake of file feeds (ICB provider files, manual returns, DfE statistics) from a landing folder.

Each run looks at every entry of the inbox and records what became of it (`ops.loaded_files`):
links, folders, hidden files and lock files are never read; a file still arriving or that cannot be
read now is left for the next run; a file handled before (by sha256) is skipped. The rest are matched
by name to a contract table, read (`ingestion.reading`), header-checked by name, validated row by row
and landed: one Parquet file per contract table plus rejects and a manifest. Files of one table are
validated together, a group at a time (pandas' cost per call is then paid per group, not per file),
and every reject still names its file and row. Anything that goes wrong with one file quarantines
that file alone, with a reason, and the batch goes on; only an unreadable inbox (PermissionError,
OSError) propagates: that is an information-governance or infrastructure problem, not bad data.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion import contract as contracts
from ingestion import identifiers, landing, privacy
from ingestion.feed import ReadRequest
from ingestion.reading import Delivered, FileRejected, read_delivered

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
# Names an upload carries while it is still being written (SFTP clients, browsers, sync tools).
IN_TRANSIT_SUFFIXES = (".part", ".partial", ".filepart", ".tmp", ".crdownload", ".uploading", ".temp")
DEFAULT_SETTLE_SECONDS = 0.0  # production sets SEND_INBOX_SETTLE_SECONDS (Settings.inbox_settle_seconds)


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
    rule_action: str = "rejected"  # what a pattern / minimum / maximum breach does to an optional field
    ignore_suffixes: tuple[str, ...] = ()  # documentation shipped beside the data files
    # How a corrected file arrives: under a new name (_v2, _v3; a changed file under a used name is
    # quarantined), or under the same name (the DfE republishes a revised release as it was named).
    revisions: Literal["versioned_names", "same_name"] = "versioned_names"
    prepare: Callable[[str, contracts.Table, pd.DataFrame], pd.DataFrame] | None = None
    checks: Callable[[str, contracts.Table, re.Match, pd.DataFrame], list[Check]] | None = None
    message: Callable[[str, str | None, int, str, str], str] | None = None  # file, sheet, row, field, reason


class LoadedName(NamedTuple):
    """The newest loaded version of a file name (`load.loaded_file_names`)."""

    sha256: str
    version: int
    modified_at: str | None  # the file's modification time when it was loaded (ISO, UTC)


def recorded_name(name: str, key: bytes) -> str:
    """How a file whose name matched no pattern is recorded: as written when nothing in it looks
    personal, else by its shape and a keyed hash of it (two names of one shape stay apart)."""
    shown = privacy.describe_name(name)
    if shown == name:
        return name
    return f"{shown} #{identifiers.pseudonymise(key, 'file_name', name)[:8]}"


def handled_key(sha256: str, name: str) -> str:
    """How `seen` holds a file quarantined before: its content under that name only, so a file set
    aside for its name loads once it is renamed (its content unchanged)."""
    return f"{sha256}:{name}"


def match_table(feed_contract: contracts.FeedContract, name: str) -> tuple[str, contracts.Table, re.Match] | None:
    for table_name, table in feed_contract.tables.items():
        found = re.fullmatch(table.file.name_pattern, name) if table.file else None
        if found:
            return table_name, table, found
    return None


def file_version(found: re.Match) -> int:
    version = found.groupdict().get("version")
    return int(version) if version else 1


# -- the run ---------------------------------------------------------------------------------

# Files of one table are validated together up to about this many rows: pandas' cost per call is
# paid once per group instead of once per file. Larger groups are no quicker (measured up to 200,000
# rows) but hold more memory: peak memory at this size is about that of landing file by file.
GROUP_ROWS = 50_000


@dataclass
class _Read:
    """A file read and header-checked, waiting to be validated with other files of its table."""

    name: str
    order: int  # position in the inbox: rejects are reported in file order
    groups: re.Match
    batch: landing.FileBatch
    delivered: Delivered


@dataclass
class _TableOut:
    name: str
    table: contracts.Table
    rows_path: Path
    rejects_path: Path
    writer: pq.ParquetWriter
    schema: pa.Schema
    rejects: list[pd.DataFrame] = field(default_factory=list)  # each with `_order`, the file's position
    pending: list[_Read] = field(default_factory=list)
    pending_rows: int = 0
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
    loaded_names: Mapping[str, LoadedName] | None = None,
    tables: Collection[str] | None = None,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
) -> Path:
    """Land every new file of `inbox`; return the manifest path. `seen` holds the sha256 of files
    already handled (`load.loaded_file_checksums`), `loaded_names` the newest loaded version of each
    file name (`load.loaded_file_names`), for `rules.revisions`. `tables` limits the intake to some of
    the feed's tables (those whose agreement is live): files of the others are left unread in the
    inbox, to be loaded when their agreement allows. A file changed less than `settle_seconds` ago
    may still be arriving: it is left for the next run."""
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
    now = time.time()
    try:
        for order, name in enumerate(names):
            path = inbox / name
            found = match_table(feed_contract, name)
            if tables is not None and found and found[0] not in tables:
                continue
            shown = name if found else recorded_name(name, key)  # a name nobody checked may hold anything

            def record(status: str, reason: str | None = None, sha: str = "", shown=shown) -> landing.FileBatch:
                batch = landing.FileBatch(
                    name=shown, sha256=sha, table=None, status=status, reason=reason,
                    contract_version=feed_contract.version,
                )  # fmt: skip
                files.append(batch)
                return batch

            passed = _not_a_delivery(path, name, rules, now, settle_seconds)
            if passed is not None:
                record(*passed)
                continue
            try:
                sha = landing.sha256_of(path)
                modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat(timespec="seconds")
            except OSError as error:  # this file only: permissions, removed meanwhile; never the feed refused
                record("deferred", f"could not be read now ({type(error).__name__}): left for the next run")
                continue
            batch = record("loaded", sha=sha)
            batch.modified_at = modified
            if sha in seen or sha in run_seen or handled_key(sha, shown) in seen:
                batch.status = "already_loaded"
                continue
            if found is None:
                batch.status, batch.reason = "quarantined", "file name matches no expected pattern"
                patterns = "; ".join(t.file.name_pattern for t in feed_contract.tables.values() if t.file)
                unmatched.append(_file_reject(shown, 0, "file name", f"{batch.reason} ({patterns})", rules, order))
                continue
            table_name, table, groups = found
            batch.table, batch.file_version = table_name, file_version(groups)
            out = outs[table_name]
            earlier = (loaded_names or {}).get(name)
            if earlier is not None and earlier.sha256 != sha:
                if rules.revisions == "same_name" and (earlier.modified_at or "") <= modified:
                    batch.file_version = earlier.version + 1  # a revised release: kept beside the earlier one
                else:
                    batch.status = "quarantined"
                    batch.reason = (
                        "a different file with this name was already loaded; resend it as a new version (_v2)"
                        if rules.revisions == "versioned_names"
                        else f"older than the copy of {name} already loaded (modified {earlier.modified_at})"
                    )
                    out.rejects.append(_file_reject(name, 0, "file name", batch.reason, rules, order))
                    continue
            run_seen.add(sha)  # read from here on: a copy later in the inbox is the same delivery
            _read(rules, path, order, groups, batch, out)
            if out.pending_rows >= GROUP_ROWS:
                _land(rules, out, key)
        for out in outs.values():
            if out.pending:
                _land(rules, out, key)
    finally:
        for out in outs.values():
            out.writer.close()
        contracts.forget_hashes()  # no raw identifier outlives the intake that read it
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


def read(rules: FeedRules, request: ReadRequest) -> Path:
    """A file feed's read function (its feed.py entry point): land the new files of the inbox at
    `request.location`, skipping what the warehouse already holds."""
    known = request.known
    return intake(
        rules, Path(request.location), request.landing_dir, request.key, request.run_id, set(known.seen),
        known.names, request.tables, request.settle_seconds,
    )  # fmt: skip


def _not_a_delivery(path: Path, name: str, rules: FeedRules, now: float, settle: float) -> tuple[str, str] | None:
    """Why an entry of the inbox is not read in this run (status, reason), or None to read it. The
    entry's own metadata only (lstat): a link is never followed, to a file outside the inbox or not."""
    try:
        info = path.lstat()
    except OSError as error:
        return "deferred", f"could not be looked at now ({type(error).__name__}): left for the next run"
    if path.is_symlink():
        return "ignored", "a symbolic link: links are never followed; put the file itself in the inbox"
    if path.is_dir():
        return "ignored", "a folder: files are read from the inbox itself, not from folders in it"
    if not path.is_file():
        return "ignored", "not a regular file"
    if name.startswith("."):
        return "ignored", "a hidden file (name starting with a dot): not a delivery"
    if name.startswith("~$"):
        return "ignored", "Excel's lock file of a workbook open somewhere: not a delivery"
    if name.lower().endswith(IN_TRANSIT_SUFFIXES):
        return "deferred", "still arriving (an upload's temporary name): read once it has its final name"
    if path.suffix.lower() in rules.ignore_suffixes:
        return "ignored", "documentation shipped beside the data"
    if now - info.st_mtime < settle:
        return "deferred", f"changed less than {settle:g} s ago, perhaps still arriving: read on the next run"
    return None


def _read(rules: FeedRules, path: Path, order: int, groups: re.Match, batch: landing.FileBatch, out: _TableOut) -> None:
    """Read and header-check one file: a bad one is quarantined alone, a good one waits for its group."""
    try:
        delivered = read_delivered(path, out.table)
    except FileRejected as error:
        batch.status, batch.reason = "quarantined", error.reason
        out.rejects.append(_file_reject(path.name, error.row, error.field, error.reason, rules, order))
        return
    except OSError as error:  # unreadable now (permissions, removed, still locked): next run
        batch.status = "deferred"
        batch.reason = f"could not be read now ({type(error).__name__}): left for the next run"
        return
    except Exception as error:  # noqa: BLE001 - one strange file never stops the batch
        _quarantine_unexpected(rules, out, batch, order, "reading", error)
        return
    batch.rows_in = len(delivered.row_numbers)
    batch.extra_columns = delivered.extra_columns
    out.rows_in += batch.rows_in
    out.extra = sorted(set(out.extra) | set(delivered.extra_columns))
    out.pending.append(_Read(path.name, order, groups, batch, delivered))
    out.pending_rows += batch.rows_in


def _quarantine_unexpected(rules: FeedRules, out: _TableOut, batch: landing.FileBatch, order: int, stage: str, error):
    # The message of a library's error can quote a cell: the log gets it redacted, the record only its kind.
    log.error("%s: %s while %s it: %s", batch.name, type(error).__name__, stage, privacy.redact(error))
    batch.status = "quarantined"
    batch.reason = (
        f"could not be processed ({type(error).__name__} while {stage} it); the platform team can see why in the log"
    )
    out.rejects.append(_file_reject(batch.name, 0, "file", batch.reason, rules, order))


def _land(rules: FeedRules, out: _TableOut, key: bytes) -> None:
    """Land the pending files of one table: together when they can be, else file by file, so a file
    that breaks something unforeseen is quarantined alone and the others land."""
    reads, out.pending, out.pending_rows = out.pending, [], 0
    _land_reads(rules, out, reads, key)


def _land_reads(rules: FeedRules, out: _TableOut, reads: list[_Read], key: bytes) -> None:
    try:
        landed, problems, loaded = _validate_group(rules, out, reads, key)
    except Exception as error:  # noqa: BLE001 - isolate the file that caused it
        if len(reads) > 1:
            for read in reads:
                _land_reads(rules, out, [read], key)
            return
        read = reads[0]
        out.rows_in -= read.batch.rows_in  # quarantined files count no rows, as when their reading fails
        read.batch.rows_in = 0
        _quarantine_unexpected(rules, out, read.batch, read.order, "validating", error)
        return
    # A row group per group, not per file: a quarter of the size, and quicker to write and to read.
    out.writer.write_table(landed)
    _account(rules, out, reads, problems, loaded)


def _validate_group(
    rules: FeedRules, out: _TableOut, reads: list[_Read], key: bytes
) -> tuple[pa.Table, list[pd.DataFrame], np.ndarray]:
    """Validate and check the files of one table in one go, without writing anything. Each row keeps
    its file (`file_of`) and line (`line_of`) by its position in the group, so every reject names
    both; the rules a file's name sets and duplicate keys stay per file."""
    table = out.table
    names = np.array([r.name for r in reads], dtype=object)
    orders = np.array([r.order for r in reads], dtype=np.int64)
    file_of = np.repeat(np.arange(len(reads)), [len(r.delivered.row_numbers) for r in reads])
    line_of = np.concatenate([np.asarray(r.delivered.row_numbers, dtype=np.int64) for r in reads])
    problems: list[pd.DataFrame] = []
    # Rows a reader found broken (too short, too long, lines merged) are rejected as they are: their
    # cells are not where the header says, so no value of theirs is validated or quoted.
    broken: list[int] = []
    start = 0
    for read in reads:
        if read.delivered.notes:
            notes = pd.DataFrame(read.delivered.notes)
            problems.append(
                _problems(
                    read.name, notes["row_number"], None, notes["field"], notes["reason"], notes["action"], read.order
                )
            )
            position = {n: start + k for k, n in enumerate(read.delivered.row_numbers)}
            broken += [position[n] for n in notes.loc[notes["action"] == "rejected", "row_number"]]
        start += len(read.delivered.row_numbers)
    frame = _group_frame(table, reads)
    if rules.prepare:
        frame = rules.prepare(out.name, table, frame)
    candidates = np.setdiff1d(np.arange(len(frame)), np.asarray(broken, dtype=np.int64))
    checked = contracts.validate(
        "",
        table,
        frame.iloc[candidates],
        row_numbers=candidates,  # group positions, mapped back to file and line below
        date_formats=table.file.date_formats,
        rule_action=rules.rule_action,
        pseudonym_key=key,
        screen_keys=True,
    )
    for read in reads:
        for column in read.delivered.extra_columns:
            reason = "column not in the contract; ignored"
            problems.append(
                _file_reject(read.name, read.delivered.header_row, column, reason, rules, read.order, "ignored")
            )
    at = checked.rejects["row_number"].to_numpy(dtype=np.int64)
    problems.append(
        checked.rejects.assign(source=names[file_of[at]], row_number=line_of[at], _order=orders[file_of[at]])
    )
    rejected = np.zeros(len(frame), dtype=bool)
    rejected[broken] = True
    rejected[at[(checked.rejects["action"] == "rejected").to_numpy()]] = True
    # From here on `kept` holds the group positions of the rows still standing.
    rows, keys, kept = checked.rows, checked.record_keys.to_numpy(), candidates[~rejected[candidates]]
    drop = np.zeros(len(rows), dtype=bool)
    bounds = np.searchsorted(file_of[kept], np.arange(len(reads) + 1))  # each file's rows
    blanks: list[tuple[np.ndarray, str]] = []

    def apply(read: _Read, checks: list[Check], positions: np.ndarray) -> None:
        """Record each check's findings; `positions`: the group positions of the rows checked."""
        for check in checks:
            if not check.mask.any():
                continue
            mask = check.mask.fillna(False).astype(bool).to_numpy()
            at = positions[mask]
            reason = check.reason[mask].to_numpy() if isinstance(check.reason, pd.Series) else check.reason
            problems.append(
                _problems(read.name, line_of[kept[at]], keys[at], check.field, reason, check.action, read.order)
            )
            if check.action == "rejected":
                drop[at] = True
            elif check.action == "blanked":
                blanks.append((at, check.field))

    for i, read in enumerate(reads):
        positions = np.arange(bounds[i], bounds[i + 1])
        part = rows.iloc[positions].reset_index(drop=True)
        checks = _period_checks(table, read.groups, part, rules.rule_action)
        if rules.checks:
            checks += rules.checks(out.name, table, read.groups, part)
        apply(read, checks, positions)
        # Completeness last: a band rejected by any rule above leaves its group incomplete too.
        standing = positions[~drop[positions]]
        apply(read, _completeness(table, rows.iloc[standing].reset_index(drop=True)), standing)
    for at, column in blanks:  # after all checks ran, as each file's checks see its rows as sent
        rows.loc[at, column] = None
    repeat, reasons = _repeats(rows, file_of[kept], line_of[kept], table.primary_key, drop)
    if repeat.any():
        where, field_name = file_of[kept[repeat]], ", ".join(table.primary_key)
        problems.append(
            _problems(names[where], line_of[kept[repeat]], keys[repeat], field_name, reasons, "rejected", orders[where])
        )
        drop |= repeat
    rows, kept = rows[~drop].reset_index(drop=True), kept[~drop]
    landed = contracts.pseudonymise(table, rows, key, scope="")
    landed["_source_file"] = names[file_of[kept]]
    landed["_source_row"] = line_of[kept]
    landed["_file_version"] = np.array([r.batch.file_version for r in reads], dtype=np.int64)[file_of[kept]]
    arrow = pa.Table.from_pandas(landed[out.schema.names], preserve_index=False).cast(out.schema)
    return arrow, problems, np.bincount(file_of[kept], minlength=len(reads))


def _period_of(found: re.Match) -> pd.Period | None:
    """The month a file's name says it describes (YYYY-MM or YYYYMM), if it says one."""
    text = found.groupdict().get("period")
    if not text:
        return None
    digits = text.replace("-", "")
    return pd.Period(f"{digits[:4]}-{digits[4:6]}", "M")


def _period_checks(table: contracts.Table, found: re.Match, rows: pd.DataFrame, rule_action: str) -> list[Check]:
    """Dates more months after the file's period than the contract allows (`not_after_period_months`):
    a tracker as at March 2025 saying it was updated in 2031 holds a slip."""
    period = _period_of(found)
    if period is None:
        return []
    checks = []
    for name, col in table.columns.items():
        if col.not_after_period_months is None:
            continue
        latest = period.end_time.normalize() + pd.DateOffset(months=col.not_after_period_months)
        after = rows[name] > latest
        reason = (
            f"dated after {latest:%Y-%m-%d}, more than {col.not_after_period_months} months after the "
            f"period {period} the file is for: a typing slip?"
        )
        checks.append(Check(after, name, reason, "rejected" if col.required else rule_action))
    return checks


def _completeness(table: contracts.Table, rows: pd.DataFrame) -> list[Check]:
    """Rows of a group that lacks some combination the contract says is always sent (`complete`):
    its total would read too low, so none of its rows loads."""
    rule = table.complete
    if rule is None or not len(rows):
        return []
    expected = pd.MultiIndex.from_product([table.columns[c].allowed for c in rule.every], names=rule.every)
    sent = rows[rule.within + rule.every].astype("string").drop_duplicates()
    lacking: dict[tuple, list] = {}
    for group, part in sent.groupby(rule.within, dropna=False, sort=False):
        have = pd.MultiIndex.from_frame(part[rule.every])
        missing = expected.difference(have)
        if len(missing):
            lacking[group if isinstance(group, tuple) else (group,)] = list(missing)
    if not lacking:
        return []
    keys = pd.MultiIndex.from_frame(rows[rule.within].astype("string"))
    incomplete = pd.Series(keys.isin(list(lacking)), index=rows.index)
    reasons = pd.Series("", index=rows.index, dtype=object)
    for i in np.flatnonzero(incomplete.to_numpy()):
        missing = lacking[tuple(keys[i])]
        shown = ", ".join(" / ".join(m) for m in missing[:3]) + (" ..." if len(missing) > 3 else "")
        reasons.iloc[i] = (
            f"{len(missing)} of the {len(expected)} {' and '.join(rule.every)} combinations are missing for "
            f"this {' / '.join(rule.within)} ({shown}): the contract says all are sent, zeros included"
        )
    return [Check(incomplete, rule.every[-1], reasons[incomplete].reindex(rows.index).fillna(""), "rejected")]


def _repeats(
    rows: pd.DataFrame, files: np.ndarray, lines: np.ndarray, primary_key: list[str], dropped: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """A key twice in one file: the first row stands, each repeat is rejected with the row it repeats."""

    def comparable(frame: pd.DataFrame, files: np.ndarray) -> pd.DataFrame:
        return frame.astype("string").fillna("\x00").assign(_file=files)

    keyed = comparable(rows[primary_key], files)
    repeat = keyed.duplicated().to_numpy() & ~dropped
    if not repeat.any():
        return repeat, []
    first = keyed.reset_index().groupby(list(keyed.columns))["index"].transform("first").to_numpy()
    shared = np.flatnonzero(keyed.duplicated(keep=False).to_numpy())  # only these can repeat a whole row
    exact = np.zeros(len(rows), dtype=bool)
    exact[shared] = comparable(rows.iloc[shared], files[shared]).duplicated().to_numpy()
    return repeat, [
        f"{'exact duplicate' if exact[k] else 'same key'} of row {lines[first[k]]}" for k in np.flatnonzero(repeat)
    ]


def _problems(source, row_number, record_key, field_name, reason, action, order) -> pd.DataFrame:
    """Reject rows; `_order` (the file's position in the inbox) puts them in file order at the end."""
    return pd.DataFrame(
        {
            "source": source,
            "row_number": row_number,
            "record_key": record_key,
            "field": field_name,
            "reason": reason,
            "action": action,
            "_order": order,
        }
    )


def _account(rules: FeedRules, out: _TableOut, reads: list[_Read], problems: list[pd.DataFrame], loaded) -> None:
    """Each file's rejects in the order found, in the feed's words; rows in = landed + rejected per file."""
    rejected: dict[int, int] = {}
    blanked: dict[int, int] = {}
    found = [p for p in problems if len(p)]
    if found:
        rejects = pd.concat(found, ignore_index=True).sort_values("_order", kind="stable", ignore_index=True)
        rejected = rejects[rejects["action"] == "rejected"].groupby("_order")["row_number"].nunique().to_dict()
        blanked = (rejects["action"] == "blanked").groupby(rejects["_order"]).sum().to_dict()
        if rules.message:
            by_order = {r.order: r for r in reads}
            rejects["reason"] = [
                rules.message(by_order[o].name, by_order[o].delivered.sheet, int(r), str(f), str(why))
                for o, r, f, why in zip(
                    rejects["_order"], rejects["row_number"], rejects["field"], rejects["reason"], strict=True
                )
            ]
        out.rejects.append(rejects)
    for read, count in zip(reads, loaded, strict=True):
        batch = read.batch
        batch.rows_loaded, batch.rows_rejected = int(count), int(rejected.get(read.order, 0))
        batch.fields_blanked = int(blanked.get(read.order, 0))
        if batch.rows_in != batch.rows_loaded + batch.rows_rejected:  # never silently lose a row
            raise RuntimeError(
                f"{read.name}: {batch.rows_in} rows read, {batch.rows_loaded} landed + {batch.rows_rejected} rejected"
            )
        out.rows_loaded += batch.rows_loaded
        out.rows_rejected += batch.rows_rejected
        out.fields_blanked += batch.fields_blanked


def _group_frame(table: contracts.Table, reads: list[_Read]) -> pd.DataFrame:
    """The contract's columns of several files as one frame of text, rows in file order."""
    missing = pa.array(sorted(set(table.file.missing_values)), pa.large_string())
    no_value = pa.scalar(None, pa.large_string())

    def text(name: str) -> pd.arrays.ArrowStringArray:
        cells = pa.concat_arrays([r.delivered.columns[name] for r in reads])
        if len(missing):  # the feed's symbols for "no value", as pandas' str.strip().isin() finds them
            symbol = pc.fill_null(pc.is_in(pc.utf8_trim_whitespace(cells), value_set=missing), False)
            cells = pc.if_else(symbol, no_value, cells)
        return pd.arrays.ArrowStringArray(cells)

    return pd.DataFrame({name: text(name) for name in table.columns})


def _file_reject(
    name: str, row: int, field_name: str, reason: str, rules: FeedRules, order: int, action: str = "quarantined"
) -> pd.DataFrame:
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
                "action": action,
                "_order": order,
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
        rejects = pd.concat(out.rejects, ignore_index=True).sort_values("_order", kind="stable")
        pq.write_table(_rejects_table(rejects), out.rejects_path)
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
