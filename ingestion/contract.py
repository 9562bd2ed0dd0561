"""Machine-readable source contracts and row-level validation against them.

A contract names every column a feed must deliver, its type, whether it is mandatory, its allowed
codes and whether it is a personal identifier. Columns are matched by name, never by position.
"""

from __future__ import annotations

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

from ingestion import identifiers

CONTRACTS_DIR = Path(__file__).parent / "contracts"
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


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    primary_key: list[str]
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
    path = CONTRACTS_DIR / f"{feed}.yml"
    return FeedContract.model_validate(yaml.safe_load(path.read_text()))


def check_columns(source: str, table: Table, present: list[str]) -> list[str]:
    """Raise on missing columns; return extra columns (ignored, reported in the manifest)."""
    missing = [c for c in table.columns if c not in present]
    if missing:
        raise ContractDriftError(f"{source}: columns missing from source: {', '.join(missing)}")
    return [c for c in present if c not in table.columns]


@dataclass
class Validated:
    rows: pd.DataFrame  # rows that passed, identifiers still raw (pseudonymise next)
    rejects: pd.DataFrame  # one row per problem: source, row_number, record_key, field, reason, action
    record_keys: pd.Series  # record key of each row that passed (aligned with rows)


_DATE_FORMAT_NAMES = {"%Y-%m-%d": "YYYY-MM-DD", "%d/%m/%Y": "DD/MM/YYYY"}


def _parse_dates(text: pd.Series, formats: list[str] | None) -> pd.Series:
    if formats is None:
        # Offsets are turned into UTC wall time row by row, so rows with and without one (or files
        # validated together) parse alike instead of failing on mixed time zones.
        return pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True).dt.tz_localize(None)
    value = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for fmt in formats:
        value = value.fillna(pd.to_datetime(text, errors="coerce", format=fmt))
    return value


_PLAIN_INTEGER = r"^-?[0-9]{1,18}$"  # always fits an int64


def _to_number(text: pd.Series) -> pd.Series:
    """`pd.to_numeric(text, errors="coerce")`; a column of plain integers (most counts) is cast by
    Arrow, where pandas would parse value by value to the same Int64."""
    values = pa.array(text.array)
    if pc.all(pc.match_substring_regex(values, _PLAIN_INTEGER)).as_py() is True:  # None: no value at all
        number = pc.cast(values, pa.int64()).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        return pd.Series(number.array, index=text.index, name=text.name)
    return pd.to_numeric(text, errors="coerce")


def _is_personal(col: Column) -> bool:
    """Values of these columns never appear in a reject reason."""
    return col.identifier is not None or col.reduce_to is not None


class _Shown:
    """The offending value quoted after a reason, worked out only for rows that have a problem;
    never for personal columns (identifiers, dates of birth, postcodes)."""

    def __init__(self, text: pd.Series, hide: bool):
        self.text, self.hide = text, hide

    def after(self, reason: str, mask: pd.Series, then: str = "") -> str | np.ndarray:
        """The reason for each row of `mask` (built for those rows only: most columns have none)."""
        if self.hide or not mask.any():
            return reason + then
        return (reason + ": '" + self.text[mask].fillna("") + "'" + then).to_numpy()


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
) -> Validated:
    """Coerce types and check every row; a row with a problem in a mandatory or coded field is
    rejected with the reason, an invalid optional identifier is blanked (the row still counts).

    `date_formats` (files) lists the accepted date layouts (default ISO 8601); `rule_action` says
    what a value breaking `pattern` / `minimum` / `maximum` does to its row (a mandatory field always
    rejects); None leaves those rules unchecked (reading a source as it is, e.g. for calibration).
    Record keys made of an identifier are hashed with `pseudonym_key`, or left blank. Dates before
    their `not_before` column, or after `flag_dates_after`, are flagged: kept as sent, reported.
    """
    frame = frame.reset_index(drop=True)
    if row_numbers is None:
        numbers = pd.RangeIndex(first_row, first_row + len(frame)).to_numpy()
    else:
        numbers = pd.Series(row_numbers).to_numpy()
    record_keys = record_keys_of(table, frame, pseudonym_key, scope)
    problems: list[pd.DataFrame] = []
    rejected = pd.Series(False, index=frame.index)
    out = pd.DataFrame(index=frame.index)

    def note(mask: pd.Series, field: str, reason: str | np.ndarray, action: str = "rejected") -> None:
        """`reason`: one for every row of `mask`, or one per row of it."""
        nonlocal rejected
        if not mask.any():
            return
        problems.append(
            pd.DataFrame(
                {
                    "source": source,
                    "row_number": numbers[mask.to_numpy()],
                    "record_key": record_keys[mask].to_numpy(),
                    "field": field,
                    "reason": reason,
                    "action": action,
                }
            )
        )
        if action == "rejected":
            rejected |= mask

    for name, col in table.columns.items():
        raw = frame[name]
        text = raw.astype("string").str.strip()
        text = text.mask(text == "")
        present = text.notna()
        shown = _Shown(text, hide=_is_personal(col))
        if col.type in ("date", "timestamp"):
            value = _parse_dates(text, date_formats if col.type == "date" else None)
            if col.type == "date":
                value = value.dt.normalize()
            if date_formats is None or col.type == "timestamp":
                expected = "ISO 8601"
            else:
                expected = " or ".join(_DATE_FORMAT_NAMES.get(f, f) for f in date_formats)
            bad = present & value.isna()
            reason = f"not a valid {col.type} (expected {expected})"
            note(bad, name, reason if date_formats is None else shown.after(reason, bad))
        elif col.type in ("integer", "number"):
            value = _to_number(text)
            bad = present & value.isna()
            note(bad, name, shown.after(f"not a valid {col.type}", bad))
            if col.type == "integer":
                fractional = value.notna() & (value != value.round())
                note(fractional, name, shown.after("not a whole number", fractional))
                if fractional.any():
                    value = value.mask(fractional)
        elif col.type == "boolean":
            value = text.str.lower().map({"1": True, "0": False, "true": True, "false": False, "y": True, "n": False})
            bad = present & value.isna()
            note(bad, name, shown.after("not a valid boolean", bad))
        else:
            value = text
            if col.allowed is not None:
                value = value.str.upper()
                bad = present & ~value.isin(col.allowed)
                allowed = f"' (allowed: {', '.join(col.allowed)})"
                note(bad, name, ("unknown code '" + value[bad] + allowed).to_numpy())
            elif col.pattern is not None and rule_action is not None:
                bad = present & ~text.fillna("").str.fullmatch(col.pattern)
                action = "rejected" if col.required else rule_action
                note(bad, name, shown.after("not in the expected form", bad, f" (expected {col.pattern})"), action)
                if action == "blanked" and bad.any():
                    value = value.mask(bad)
        has_range = col.minimum is not None or col.maximum is not None
        if col.type in ("integer", "number") and has_range and rule_action is not None:
            action = "rejected" if col.required else rule_action
            number = value.astype("Float64")
            for limit, beyond, word in (
                (col.minimum, number < (col.minimum or 0), "below the minimum"),
                (col.maximum, number > (col.maximum or 0), "above the maximum"),
            ):
                if limit is None:
                    continue
                bad = beyond.fillna(False).astype(bool)
                note(bad, name, np.array([f"{v:g} is {word} {limit:g}" for v in number[bad]], dtype=object), action)
                if action == "blanked" and bad.any():
                    value = value.mask(bad)
        if col.identifier is not None:
            is_valid = identifiers.VALIDATORS[col.identifier]
            candidates = value.astype(object).where(present, None)
            verdicts = {v: is_valid(v) for v in set(candidates) if v is not None}  # a child recurs across files
            valid = pd.Series([v is not None and verdicts[v] for v in candidates], index=value.index)
            bad = present & ~valid
            # The reason never repeats the raw identifier.
            action = "rejected" if col.required else "blanked"
            note(bad, name, f"invalid {col.identifier.replace('_', ' ')}", action)
            if bad.any():
                value = value.mask(bad)
        if col.required:
            note(~present, name, "missing mandatory field")
        out[name] = value

    for name, col in table.columns.items():
        if col.type not in ("date", "timestamp"):
            continue
        if col.not_before is not None and rule_action is not None:
            before = (out[name] < out[col.not_before]).fillna(False).astype(bool)
            note(before, name, f"dated before {col.not_before}", "flagged")
        if flag_dates_after is not None:
            late = (out[name] > flag_dates_after).fillna(False).astype(bool)
            note(late, name, f"date after {flag_dates_after:%Y-%m-%d}: a typing slip or a placeholder?", "flagged")

    rejects = pd.concat(problems, ignore_index=True) if problems else pd.DataFrame(columns=REJECT_COLUMNS)
    return Validated(
        rows=out[~rejected].reset_index(drop=True),
        rejects=rejects,
        record_keys=record_keys[~rejected].reset_index(drop=True),
    )


def record_keys_of(table: Table, frame: pd.DataFrame, pseudonym_key: bytes | None, scope: str = "") -> pd.Series:
    """The primary key of each row as text (parts joined by '|'); identifier parts hashed, or blank."""
    parts = []
    for name in table.primary_key:
        text = frame[name].astype("string").str.strip()
        col = table.columns[name]
        if col.identifier is not None:
            if pseudonym_key is None:
                text = pd.Series(pd.NA, index=frame.index, dtype="string")
            else:
                id_scope = scope if col.identifier == "la_person_id" else ""
                text = pd.Series(
                    [
                        pd.NA
                        if pd.isna(v) or v == ""
                        else identifiers.pseudonymise(pseudonym_key, col.identifier, v, id_scope)
                        for v in text
                    ],
                    index=frame.index,
                    dtype="string",
                )
        parts.append(text.fillna(""))
    keys = parts[0]
    for part in parts[1:]:
        keys = keys + "|" + part
    return keys


def pseudonymise(table: Table, frame: pd.DataFrame, key: bytes, scope: str) -> pd.DataFrame:
    """Replace each identifier column by `<column>_hash` and reduce detail (DOB to month, postcode to district)."""
    frame = frame.copy()
    for name, col in table.columns.items():
        if col.identifier is not None:
            id_scope = scope if col.identifier == "la_person_id" else ""
            raw = frame.pop(name).astype(object).where(lambda s: s.notna(), None)
            # Each distinct identifier hashed once: a child recurs in every monthly snapshot.
            hashes = {v: identifiers.pseudonymise(key, col.identifier, v, id_scope) for v in set(raw) if v is not None}
            frame[f"{name}_hash"] = [hashes.get(v) for v in raw]
        elif col.reduce_to == "month":
            frame[name] = frame[name].dt.to_period("M").dt.to_timestamp()
        elif col.reduce_to == "district":
            frame[name] = frame[name].str.upper().str.split().str[0]
    return frame


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
