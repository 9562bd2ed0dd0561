"""Machine-readable source contracts and row-level validation against them.

A contract names every column a feed must deliver, its type, whether it is mandatory, its allowed
codes and whether it is a personal identifier. Columns are matched by name, never by position.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict

from ingestion import identifiers, privacy

PACKAGES_DIR = Path(__file__).parent  # each feed's contract: ingestion/<feed>/contract.yml
REJECT_COLUMNS = ["source", "row_number", "record_key", "field", "reason", "action"]


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["string", "date", "timestamp", "integer", "number", "boolean"]
    required: bool = False
    allowed: list[str] | None = None
    identifier: Literal["nhs_number", "upn", "uln", "la_person_id"] | None = None
    reduce_to: Literal["month", "district"] | None = None
    description: str = ""
    # Value rules: enforced when validate is given a rule_action.
    pattern: str | None = None  # regular expression a present value matches in full
    minimum: float | None = None
    maximum: float | None = None
    not_before: str | None = None  # a date column of the same row this date cannot precede (flagged)
    earliest: dt.date | None = None  # dates before it are impossible here (a placeholder, a slip)
    # Files named with a period: a date more than this many months after the period's end is a slip.
    not_after_period_months: int | None = None
    max_length: int | None = None  # characters; default by type (TEXT_LIMITS)
    free_text: bool = False  # typed by people: screened for identifiers that do not belong in it
    multiline: bool = False  # CSV: a line break inside the quoted cell is expected
    # Added to the contract after sources were built to it (a minor version): a source without the
    # column is still valid and reads it as blank; a source that has it is checked as usual.
    may_be_absent: bool = False


class FileRules(BaseModel):
    """How a file-based table arrives: name, format, encoding, layout."""

    model_config = ConfigDict(extra="forbid")
    name_pattern: str  # regular expression the file name matches in full; named groups carry metadata
    formats: list[Literal["csv", "xlsx"]] = ["csv"]
    encoding: str = "utf-8"
    byte_order_mark: Literal["forbidden", "allowed", "required"] = "allowed"
    delimiter: str = ","
    quote_char: str = '"'
    header_row: int = 1  # 1-based row holding the column names
    sheet: str | None = None  # xlsx: the sheet holding the table
    date_formats: list[str] = ["%Y-%m-%d"]
    missing_values: list[str] = []  # cell values that mean "no value"
    duplicate_columns: list[str] = []  # names the header carries twice, with equal values
    snapshot: str = ""  # how successive files relate (e.g. the latest file per key wins)
    description: str = ""


class Completeness(BaseModel):
    """Every combination of the allowed codes of `every` is sent for each group of `within`."""

    model_config = ConfigDict(extra="forbid")
    within: list[str]
    every: list[str]
    description: str = ""


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    primary_key: list[str]
    complete: Completeness | None = None
    change_timestamp: str | None = None
    columns: dict[str, Column]
    foreign_keys: dict[str, str] = {}  # column -> "table.column" it refers to
    file: FileRules | None = None


class FeedContract(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feed: str
    version: str
    description: str = ""
    tables: dict[str, Table]


class ContractDriftError(ValueError):
    """The source's columns no longer match the contract (missing, renamed)."""


@cache
def load_contract(feed: str) -> FeedContract:
    path = PACKAGES_DIR / feed / "contract.yml"
    return FeedContract.model_validate(yaml.safe_load(path.read_text()))


def check_columns(source: str, table: Table, present: list[str]) -> list[str]:
    """Raise on missing columns; return extra columns (ignored, reported in the manifest)."""
    missing = [c for c, col in table.columns.items() if c not in present and not col.may_be_absent]
    if missing:
        raise ContractDriftError(f"{source}: columns missing from source: {', '.join(missing)}")
    return [c for c in present if c not in table.columns]


@dataclass
class Validated:
    rows: pd.DataFrame  # rows that passed, identifiers still raw (pseudonymise next)
    rejects: pd.DataFrame  # one row per problem: source, row_number, record_key, field, reason, action
    record_keys: pd.Series  # record key of each row that passed (aligned with rows)


_DATE_FORMAT_NAMES = {"%Y-%m-%d": "YYYY-MM-DD", "%d/%m/%Y": "DD/MM/YYYY"}
UK = "Europe/London"  # the platform's calendar: a timestamp with an offset lands as UK wall time
# Characters a value of each type may have: beyond it the cell is not what the field holds (a pasted
# document, a runaway quote). A contract column may set its own `max_length`.
TEXT_LIMITS = {"string": 500, "date": 40, "timestamp": 40, "integer": 40, "number": 40, "boolean": 10}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LARGEST_WHOLE = 2**53  # a whole number beyond it loses digits wherever it becomes a float
_OFFSET = r"(?:[zZ]|[+-][0-9]{2}:?[0-9]{2})$"


def _parse_dates(text: pd.Series, formats: list[str] | None) -> pd.Series:
    if formats is None:
        # Values with an offset become UK wall time; values without one are UK wall time already. Each
        # is parsed apart, so rows with and without one (or files validated together) parse alike.
        offset = text.str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
        value = pd.to_datetime(text.mask(offset), errors="coerce", format="ISO8601")
        if offset.any():
            aware = pd.to_datetime(text.where(offset), errors="coerce", format="ISO8601", utc=True)
            value = value.fillna(aware.dt.tz_convert(UK).dt.tz_localize(None).astype(value.dtype))
        return value
    # Microseconds, as the ISO path reads: a placeholder (0001-01-01, 9999-12-31) is beyond nanoseconds.
    value = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for fmt in formats:
        value = value.fillna(pd.to_datetime(text, errors="coerce", format=fmt))
    return value


# What nearly every date and timestamp looks like: Arrow reads these exactly as pandas would, at a
# fraction of its fixed cost per column; a column with anything else (an offset, a day-first date, a
# typing slip) is read by `_parse_dates`, whose rules are the reference.
_PLAIN_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_PLAIN_TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?$"


def _dates(text: pa.Array, col_type: str, formats: list[str] | None, index: pd.Index) -> pd.Series:
    """The column's dates (microseconds, NaT where not one), a date at midnight. Plain values are cast
    by Arrow, the others parsed by `_parse_dates` (a typing slip leaves the rest of its column fast)."""
    formats = formats if col_type == "date" else None
    if formats is not None and "%Y-%m-%d" not in formats:
        return _dates_by_pandas(text, col_type, formats, index)
    shape = _PLAIN_DATE if col_type == "date" else _PLAIN_TIMESTAMP
    plain = pc.fill_null(pc.match_substring_regex(text, shape), True).to_numpy(zero_copy_only=False)  # blank too
    every = plain.all()
    try:
        fast = pc.cast(text if every else text.filter(pa.array(plain)), pa.timestamp("us"))
    except pa.ArrowInvalid:  # an impossible date (2025-02-30, year 0): the reference says which
        return _dates_by_pandas(text, col_type, formats, index)
    if every:
        return pd.Series(fast.to_pandas().array, index=index)
    rest = _parse_dates(_series(text.filter(pa.array(~plain)), pd.RangeIndex(int((~plain).sum()))), formats)
    if not rest.isna().all() and rest.dtype != "datetime64[us]":  # nanoseconds: the column is read as one
        return _dates_by_pandas(text, col_type, formats, index)
    value = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    value[plain] = fast.to_numpy(zero_copy_only=False)
    value[~plain] = (rest.dt.normalize() if col_type == "date" else rest).to_numpy()
    return pd.Series(value, index=index)


def _dates_by_pandas(text: pa.Array, col_type: str, formats: list[str] | None, index: pd.Index) -> pd.Series:
    value = _parse_dates(_series(text, index), formats)
    return value.dt.normalize() if col_type == "date" else value


_PLAIN_INTEGER = r"^-?[0-9]{1,18}$"  # always fits an int64


def _to_number(text: pa.Array, index: pd.Index) -> pd.Series:
    """`pd.to_numeric(text, errors="coerce")`; a column of plain integers (most counts) is cast by
    Arrow, where pandas would parse value by value to the same Int64."""
    if pc.all(pc.match_substring_regex(text, _PLAIN_INTEGER)).as_py() is True:  # None: no value at all
        number = pc.cast(text, pa.int64()).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        return pd.Series(number.array, index=index)
    return pd.to_numeric(_series(text, index), errors="coerce")


# Arrow types whose text Arrow writes as pandas does (a timestamp or float it writes otherwise).
_CAST_AS_TEXT = (
    pa.types.is_integer,
    pa.types.is_date,
    pa.types.is_decimal,
    pa.types.is_string,
    pa.types.is_large_string,
)


def cells(raw: pd.Series) -> pa.Array:
    """Each cell as every rule reads it: its text, trimmed; null where blank."""
    text = None
    if isinstance(raw.dtype, pd.StringDtype | pd.ArrowDtype):
        text = pa.array(raw.array)
        text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
        if not any(kind(text.type) for kind in _CAST_AS_TEXT):
            text = None
    if text is None:
        text = pa.array(raw.astype("string").array)
        text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    text = pc.cast(text, pa.large_string())
    text = pc.utf8_trim_whitespace(text)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)


def _series(text: pa.Array, index: pd.Index) -> pd.Series:
    """Arrow text as the pandas string column every caller of `validate` reads."""
    return pd.Series(pd.arrays.ArrowStringArray(text), index=index)


def _blank(text: pa.Array, where: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(where), pa.scalar(None, text.type), text) if where.any() else text


# Control characters are single bytes in UTF-8 (never part of another character), so a column whose
# bytes hold none needs no search: the usual case, and the regular expression is slow on millions of cells.
_CONTROL_BYTES = np.zeros(256, dtype=bool)
_CONTROL_BYTES[[*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]] = True


def _may_hold_control(text: pa.Array) -> bool:
    data = text.buffers()[2]
    return data is not None and bool(_CONTROL_BYTES[np.frombuffer(data, dtype=np.uint8)].any())


def _each_distinct(values: pd.Series | pa.Array, fn: Callable[[str], object]) -> pd.Series | np.ndarray:
    """`fn` of every present value, worked out once per distinct value (a child recurs in every table
    and monthly file; hashing row by row was the intake's largest single cost); NA and blank stay None.
    Given Arrow text (no blanks), the results come back as a numpy array."""
    if isinstance(values, pa.Array):
        encoded = values.dictionary_encode()
        results = _of_each(encoded.dictionary, fn)
        return results[pc.fill_null(encoded.indices, len(encoded.dictionary)).to_numpy()]
    text = values.astype("string")
    codes, uniques = pd.factorize(text.mask(text == ""))
    results = _of_each(pa.array(uniques, pa.large_string()), fn)
    return pd.Series(results[codes], index=values.index, dtype=object)  # code -1 (no value) -> None


def _of_each(distinct: pa.Array, fn: Callable[[str], object]) -> np.ndarray:
    """`fn` of each value, then None (for "no value"); over all of them at once where a rule can be."""
    at_once = _AT_ONCE.get(fn)
    results = np.empty(len(distinct) + 1, dtype=object)
    results[:-1] = at_once(distinct) if at_once else [fn(v) for v in distinct.to_pylist()]
    return results


def _is_personal(col: Column) -> bool:
    """Values of these columns never appear in a reject reason."""
    return col.identifier is not None or col.reduce_to is not None


class _Shown:
    """The offending value after a reason, worked out only for rows that have a problem: by its shape
    (privacy.describe), never as written, and not at all for personal columns (identifiers, dates of
    birth, postcodes)."""

    def __init__(self, text: pa.Array, hide: bool):
        self.text, self.hide = text, hide

    def after(self, reason: str, mask: np.ndarray, then: str = "") -> str | np.ndarray:
        """The reason for each row of `mask` (built for those rows only: most columns have none)."""
        if self.hide or not mask.any():
            return reason + then
        values = self.text.filter(pa.array(mask)).to_pylist()
        return np.array([f"{reason}: {privacy.describe(v or '')}{then}" for v in values], dtype=object)


def number_text(value: float) -> str:
    """A number as a reason may show it: small ones as written, long ones by their number of digits
    (an NHS number typed into a count is not repeated)."""
    if pd.isna(value):
        return "no value"
    if abs(value) < 1_000_000:
        return f"{value:g}"
    return f"a {len(str(int(abs(value))))}-digit number"


class _Problems:
    """Every problem found, kept as positions and reasons and made one frame at the end (a frame per
    problem was most of what a small batch cost)."""

    def __init__(self, size: int):
        self.found: list[tuple[np.ndarray, str, str | np.ndarray, str]] = []
        self.rejected = np.zeros(size, dtype=bool)

    def note(self, mask: np.ndarray, field: str, reason: str | np.ndarray, action: str = "rejected") -> None:
        """`reason`: one for every row of `mask`, or one per row of it."""
        if not mask.any():
            return
        self.found.append((np.flatnonzero(mask), field, reason, action))
        if action == "rejected":
            self.rejected |= mask

    def frame(self, source: str, numbers: np.ndarray, record_keys: np.ndarray) -> pd.DataFrame:
        if not self.found:
            return pd.DataFrame(columns=REJECT_COLUMNS)
        at = np.concatenate([where for where, *_ in self.found])
        each = [len(where) for where, *_ in self.found]
        reasons = np.empty(len(at), dtype=object)
        for (_, _, reason, _), start, n in zip(self.found, np.cumsum([0, *each]), each, strict=False):
            reasons[start : start + n] = reason
        return pd.DataFrame(
            {
                "source": source,
                "row_number": numbers[at],
                "record_key": record_keys[at],
                "field": np.repeat(np.array([field for _, field, _, _ in self.found], dtype=object), each),
                "reason": reasons,
                "action": np.repeat(np.array([action for *_, action in self.found], dtype=object), each),
            }
        )


def validate(
    source: str,
    table: Table,
    frame: pd.DataFrame,
    first_row: int = 1,
    *,
    row_numbers: list[int] | pd.Series | None = None,
    date_formats: list[str] | None = None,
    rule_action: Literal["rejected", "blanked"] | None = None,
    pseudonym_key: bytes | None = None,
    scope: str = "",
    flag_dates_after: pd.Timestamp | None = None,
    screen_keys: bool = False,
    record_keys: pd.Series | None = None,
) -> Validated:
    """Coerce types and check every row; a row with a problem in a mandatory or coded field is
    rejected with the reason, an invalid optional identifier is blanked (the row still counts).

    Every row: no control characters, no value longer than its field holds, whole numbers an int64
    holds exactly, free text without identifiers in it, postcodes that are postcodes. `date_formats`
    (files) lists the accepted date layouts (default ISO 8601); `rule_action` says what a value
    breaking `pattern` / `minimum` / `maximum` / `earliest` does to its row (a mandatory field always
    rejects); None leaves those rules unchecked (reading a source as it is, e.g. for calibration).
    Record keys made of an identifier are hashed with `pseudonym_key`, or left blank; with
    `screen_keys` (files, where a shifted cell can put anything in a key column) any other key part
    that looks personal is hashed too; `record_keys` gives them ready made (`record_keys_of`). Dates
    before their `not_before` column, or after `flag_dates_after`, are flagged: kept as sent, reported.

    The rules run on each column's Arrow array (numpy masks, Arrow compute): pandas costs a fixed
    amount per operation, which a daily batch of a few rows per table paid many times over.
    """
    frame = frame.reset_index(drop=True)
    index = frame.index
    if row_numbers is None:
        numbers = pd.RangeIndex(first_row, first_row + len(frame)).to_numpy()
    else:
        numbers = pd.Series(row_numbers).to_numpy()
    if record_keys is None:
        record_keys = record_keys_of(table, frame, pseudonym_key, scope, screen=screen_keys)
    record_keys = record_keys.reset_index(drop=True)
    problems = _Problems(len(frame))
    note = problems.note
    out: dict[str, pd.Series] = {}  # one frame at the end: adding columns one by one cost more than the checks

    def rule(col: Column) -> str | None:
        """What breaking a value rule does: a mandatory field always rejects its row."""
        if rule_action is None:
            return None
        return "rejected" if col.required else rule_action

    for name, col in table.columns.items():
        if name not in frame.columns and col.may_be_absent:  # a source without it: blank
            text = pa.nulls(len(frame), pa.large_string())
        else:
            text = cells(frame[name])
        present = text.is_valid().to_numpy(zero_copy_only=False)
        shown = _Shown(text, hide=_is_personal(col))
        # Unreadable before typed: a value too long for its field or holding a control character is
        # rejected as it is, and read no further (no second reason for the same cell).
        limit = col.max_length or TEXT_LIMITS[col.type]
        length = pc.fill_null(pc.utf8_length(text), 0).to_numpy()
        too_long = length > limit
        if too_long.any():  # (the reasons are built only where a row has the problem)
            reasons = [f"{n} characters, more than the {limit} this field holds" for n in length[too_long]]
            note(too_long, name, np.array(reasons, dtype=object))
        control = np.zeros(len(frame), dtype=bool)
        if _may_hold_control(text):
            control = present & ~too_long & identifiers.flags(pc.match_substring_regex(text, _CONTROL.pattern))
        if control.any():
            reasons = [
                f"holds a control character (U+{ord(_CONTROL.search(v).group()):04X}): a damaged file?"
                for v in text.filter(pa.array(control)).to_pylist()
            ]
            note(control, name, np.array(reasons, dtype=object))
        text = _blank(text, too_long | control)
        readable = present & ~too_long & ~control
        value: pd.Series | pa.Array
        if col.type in ("date", "timestamp"):
            value = _dates(text, col.type, date_formats, index)
            if date_formats is None or col.type == "timestamp":
                expected = "ISO 8601"
            else:
                expected = " or ".join(_DATE_FORMAT_NAMES.get(f, f) for f in date_formats)
            bad = readable & value.isna().to_numpy()
            reason = f"not a valid {col.type} (expected {expected})"
            note(bad, name, reason if date_formats is None else shown.after(reason, bad))
            action = rule(col)
            if col.earliest is not None and action is not None:
                early = (value < pd.Timestamp(col.earliest)).to_numpy()
                note(early, name, f"dated before {col.earliest}: not a possible date for this field", action)
                if action == "blanked" and early.any():
                    value = value.mask(early)
        elif col.type in ("integer", "number"):
            value = _to_number(text, index)
            bad = readable & value.isna().to_numpy()
            note(bad, name, shown.after(f"not a valid {col.type}", bad))
            number = value.to_numpy(dtype="float64", na_value=np.nan)
            if col.type == "integer":
                huge = np.abs(number) > _LARGEST_WHOLE
                note(huge, name, "too large for a whole-number field")
            else:
                huge = ~np.isfinite(number) & ~np.isnan(number)
                note(huge, name, "not a finite number")
            if huge.any():
                value = value.mask(huge)
            if col.type == "integer" and not isinstance(value.dtype, pd.Int64Dtype):
                fractional = (value.notna() & (value != value.round())).to_numpy(dtype=bool, na_value=False)
                note(fractional, name, shown.after("not a whole number", fractional))
                if fractional.any():
                    value = value.mask(fractional)
        elif col.type == "boolean":
            value = (
                _series(text, index)
                .str.lower()
                .map({"1": True, "0": False, "true": True, "false": False, "y": True, "n": False})
            )
            bad = readable & value.isna().to_numpy()
            note(bad, name, shown.after("not a valid boolean", bad))
        else:
            value = text
            if col.allowed is not None:
                value = pc.utf8_upper(value)
                bad = readable & ~identifiers.flags(pc.is_in(value, value_set=pa.array(col.allowed, value.type)))
                if bad.any():
                    allowed = f" (allowed: {', '.join(col.allowed)})"
                    codes = [
                        "unknown code " + privacy.describe_code(v) + allowed
                        for v in value.filter(pa.array(bad)).to_pylist()
                    ]
                    note(bad, name, np.array(codes, dtype=object))
            elif col.pattern is not None and rule_action is not None:
                # pandas decides where RE2 and Python's re differ (\s, \d on non-ASCII text, $).
                matches = _series(text, index).fillna("").str.fullmatch(col.pattern).to_numpy(dtype=bool)
                bad = readable & ~matches
                action = rule(col)
                note(bad, name, shown.after("not in the expected form", bad, f" (expected {col.pattern})"), action)
                if action == "blanked":
                    value = _blank(value, bad)
            if col.free_text and readable.any():
                # People type into these: an NHS number or postcode in a comment must not land.
                kinds = _each_distinct(text, privacy.identifier_in)
                found = pd.notna(kinds)
                action = "rejected" if col.required else "blanked"
                reasons = [
                    f"holds what looks like {k}: identifiers belong only in their own columns" for k in kinds[found]
                ]
                note(found, name, np.array(reasons, dtype=object), action)
                if action == "blanked":
                    value = _blank(value, found)
        has_range = col.minimum is not None or col.maximum is not None
        if col.type in ("integer", "number") and has_range and rule_action is not None:
            action = rule(col)
            number = value.to_numpy(dtype="float64", na_value=np.nan)
            for limit, beyond, word in (
                (col.minimum, number < (col.minimum or 0), "below the minimum"),
                (col.maximum, number > (col.maximum or 0), "above the maximum"),
            ):
                if limit is None or not beyond.any():
                    continue
                shown_limit = f"{limit:g}" if abs(limit) < 1_000_000 else f"{limit:,.0f}"
                reasons = [f"{number_text(v)} is {word} {shown_limit}" for v in number[beyond]]
                note(beyond, name, np.array(reasons, dtype=object), action)
                if action == "blanked":
                    value = value.mask(beyond)
        if col.identifier is not None:
            valid = _each_distinct(value, identifiers.VALIDATORS[col.identifier]).astype(bool)
            bad = readable & ~valid
            # The reason never repeats the raw identifier.
            note(bad, name, f"invalid {col.identifier.replace('_', ' ')}", "rejected" if col.required else "blanked")
            value = _blank(value, bad)
        if col.reduce_to == "district":
            district = _each_distinct(value, identifiers.postcode_district)
            bad = readable & pd.isna(district)
            note(bad, name, "not a UK postcode", "rejected" if col.required else "blanked")
            value = _blank(value, bad)
        if col.required:
            note(~present, name, "missing mandatory field")
        out[name] = _series(value, index) if isinstance(value, pa.Array) else value

    out = pd.DataFrame(out, index=index)
    for name, col in table.columns.items():
        if col.type not in ("date", "timestamp"):
            continue
        if col.not_before is not None and rule_action is not None:
            before = (out[name] < out[col.not_before]).to_numpy()
            note(before, name, f"dated before {col.not_before}", "flagged")
        if flag_dates_after is not None:
            late = out[name].to_numpy() > np.datetime64(flag_dates_after)  # NaT: False
            note(late, name, f"date after {flag_dates_after:%Y-%m-%d}: a typing slip or a placeholder?", "flagged")

    kept = ~problems.rejected
    return Validated(
        rows=out[kept].reset_index(drop=True),
        rejects=problems.frame(source, numbers, record_keys.to_numpy()),
        record_keys=record_keys[kept].reset_index(drop=True),
    )


def record_keys_of(
    table: Table, frame: pd.DataFrame, pseudonym_key: bytes | None, scope: str = "", *, screen: bool = False
) -> pd.Series:
    """The primary key of each row as text (parts joined by '|'); identifier parts hashed, or blank.
    With `screen`, a part that looks personal (an NHS number, a date, a postcode in a key column: a
    shifted cell) is hashed too, marked with a leading '#', or blanked without a key."""
    parts = []
    for name in table.primary_key:
        text = cells(frame[name])
        col = table.columns[name]
        if col.identifier is not None:
            if pseudonym_key is None:
                text = pa.nulls(len(text), pa.large_string())
            else:
                text = pa.array(_hashed(pseudonym_key, col.identifier, text, scope), pa.large_string())
        elif screen:
            odd = _each_distinct(text, _looks_personal_in_key).astype(bool)
            if odd.any():  # long ids (7+ digits) look personal too: often every row of a file
                shown = text.to_numpy(zero_copy_only=False)
                shown[odd] = None
                if pseudonym_key is not None:
                    shown[odd] = _each_distinct(
                        text.filter(pa.array(odd)),
                        lambda v: "#" + identifiers.pseudonymise(pseudonym_key, "record_key", v)[:16],
                    )
                text = pa.array(shown, pa.large_string())
        parts.append(text)
    keys = pc.binary_join_element_wise(
        *parts, pa.scalar("|", pa.large_string()), null_handling="replace", null_replacement=""
    )
    return _series(keys, frame.index)


# An English LA's ONS code (E06/E07/E08/E09/E10 + six digits) names an area, not a person: kept as
# written in a record key, so whoever reads a reject sees which LA's row it was.
_LA_CODE = re.compile(r"E(06|07|08|09|10)[0-9]{6}")


def _looks_personal_in_key(value: str) -> bool:
    if _LA_CODE.fullmatch(value):
        return False
    return len(value) > 64 or privacy.LOOKS_PERSONAL.search(value) is not None


def _personal_in_keys(values: pa.Array) -> np.ndarray:
    """`_looks_personal_in_key` of each value: RE2 reads the pattern as Python does on printable ASCII."""

    def at_once(text: pa.Array) -> np.ndarray:
        long = pc.greater(pc.utf8_length(text), 64)
        looks = pc.or_(long, pc.match_substring_regex(text, privacy.LOOKS_PERSONAL.pattern))
        return identifiers.flags(pc.and_not(looks, pc.match_substring_regex(text, f"^{_LA_CODE.pattern}$")))

    return identifiers.each_value(values, at_once, _looks_personal_in_key, bool)


# Rules worked out over all distinct values at once (Arrow, numpy), with the same results.
_AT_ONCE: dict[Callable, Callable[[pa.Array], np.ndarray]] = {
    identifiers.is_valid_nhs_number: identifiers.valid_nhs_numbers,
    identifiers.postcode_district: identifiers.postcode_districts,
    _looks_personal_in_key: _personal_in_keys,
}


def pseudonymise(table: Table, frame: pd.DataFrame, key: bytes, scope: str) -> pd.DataFrame:
    """Replace each identifier column by `<column>_hash` and reduce detail (DOB to month, postcode to district)."""
    frame = frame.copy()
    for name, col in table.columns.items():
        if col.identifier is not None:
            frame[f"{name}_hash"] = _hashed(key, col.identifier, frame.pop(name), scope)
        elif col.reduce_to == "month":
            frame[name] = frame[name].dt.to_period("M").dt.to_timestamp()
        elif col.reduce_to == "district":
            frame[name] = _each_distinct(frame[name], identifiers.postcode_district).astype("string")
    return frame


# Hashes already worked out, per key, kind and scope: a child's id recurs in every table of its LA and
# in the record keys, and looking a hash up is far cheaper than an HMAC. Dropped when they pass the
# bound, and by each extract and file intake when it ends (`forget_hashes`).
_HASHES: dict[tuple[bytes, str, str], dict[str, str]] = {}
_HASHES_HELD = 250_000


def forget_hashes() -> None:
    """Drop the identifiers (and their hashes) held since the last call."""
    _HASHES.clear()


def _hashed(key: bytes, kind: str, values: pd.Series | pa.Array, scope: str) -> pd.Series | np.ndarray:
    """The keyed hash of each identifier (None where there is none), once per distinct value; LA person
    ids are only unique within their LA, so `scope` separates them."""
    id_scope = scope if kind == "la_person_id" else ""
    if sum(len(held) for held in _HASHES.values()) > _HASHES_HELD:
        _HASHES.clear()
    held = _HASHES.setdefault((key, kind, id_scope), {})

    def hashed(value: str) -> str:
        if (digest := held.get(value)) is None:
            digest = held[value] = identifiers.pseudonymise(key, kind, value, id_scope)
        return digest

    return _each_distinct(values, hashed)


ARROW_TYPES = {
    "string": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
}
FILE_METADATA_FIELDS = [
    pa.field("_source_file", pa.string()),  # the file name only
    pa.field("_source_row", pa.int64()),  # line (CSV) or row (xlsx) number in the file
    pa.field("_file_version", pa.int64()),  # the _vN of the name, 1 when absent
]


def _contract_fields(table: Table) -> list[pa.Field]:
    return [
        pa.field(f"{name}_hash", pa.string()) if col.identifier is not None else pa.field(name, ARROW_TYPES[col.type])
        for name, col in table.columns.items()
    ]


def landed_schema(table: Table) -> pa.Schema:
    """Arrow schema of a landed database table: area_code, then the contract's columns (identifiers hashed)."""
    return pa.schema([pa.field("area_code", pa.string()), *_contract_fields(table)])


def file_landed_schema(table: Table) -> pa.Schema:
    """Arrow schema of a landed file table: the contract's columns (identifiers hashed), then where
    each row came from."""
    return pa.schema([*_contract_fields(table), *FILE_METADATA_FIELDS])
