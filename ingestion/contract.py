"""Machine-readable source contracts and row-level validation against them.

A contract names every column a feed must deliver, its type, whether it is mandatory, its allowed
codes and whether it is a personal identifier. Columns are matched by name, never by position.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
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
    # Documented value rules the row validation above does not (yet) enforce.
    pattern: str | None = None  # regular expression a present value matches in full
    minimum: float | None = None
    maximum: float | None = None


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


def validate(source: str, table: Table, frame: pd.DataFrame, first_row: int = 1) -> Validated:
    """Coerce types and check every row; a row with a problem in a mandatory or coded field is
    rejected with the reason, an invalid optional identifier is blanked (the row still counts)."""
    frame = frame.reset_index(drop=True)
    row_numbers = pd.RangeIndex(first_row, first_row + len(frame))
    key_col = table.primary_key[0]
    record_keys = frame[key_col].astype("string").str.strip()
    problems: list[pd.DataFrame] = []
    rejected = pd.Series(False, index=frame.index)
    out = pd.DataFrame(index=frame.index)

    def note(mask: pd.Series, field: str, reason: str | pd.Series, blocks_row: bool = True) -> None:
        nonlocal rejected
        if not mask.any():
            return
        problems.append(
            pd.DataFrame(
                {
                    "source": source,
                    "row_number": row_numbers[mask.to_numpy()],
                    "record_key": record_keys[mask].to_numpy(),
                    "field": field,
                    "reason": reason[mask].to_numpy() if isinstance(reason, pd.Series) else reason,
                    "action": "rejected" if blocks_row else "blanked",
                }
            )
        )
        if blocks_row:
            rejected |= mask

    for name, col in table.columns.items():
        raw = frame[name]
        text = raw.astype("string").str.strip()
        text = text.mask(text == "")
        present = text.notna()
        if col.type in ("date", "timestamp"):
            value = pd.to_datetime(text, errors="coerce", format="ISO8601")
            if col.type == "date":
                value = value.dt.normalize()
            note(present & value.isna(), name, f"not a valid {col.type} (expected ISO 8601)")
        elif col.type in ("integer", "number"):
            value = pd.to_numeric(text, errors="coerce")
            note(present & value.isna(), name, f"not a valid {col.type}")
        elif col.type == "boolean":
            value = text.str.lower().map({"1": True, "0": False, "true": True, "false": False, "y": True, "n": False})
            note(present & value.isna(), name, "not a valid boolean")
        else:
            value = text
            if col.allowed is not None:
                value = value.str.upper()
                bad = present & ~value.isin(col.allowed)
                note(bad, name, "unknown code '" + value.fillna("") + f"' (allowed: {', '.join(col.allowed)})")
        if col.identifier is not None:
            is_valid = identifiers.VALIDATORS[col.identifier]
            valid = pd.Series(
                [v is not None and is_valid(v) for v in value.astype(object).where(present, None)],
                index=value.index,
            )
            bad = present & ~valid
            # The reason never repeats the raw identifier.
            note(bad, name, f"invalid {col.identifier.replace('_', ' ')}", blocks_row=col.required)
            value = value.mask(bad)
        if col.required:
            note(~present, name, "missing mandatory field")
        out[name] = value

    rejects = pd.concat(problems, ignore_index=True) if problems else pd.DataFrame(columns=REJECT_COLUMNS)
    return Validated(rows=out[~rejected].reset_index(drop=True), rejects=rejects)


def pseudonymise(table: Table, frame: pd.DataFrame, key: bytes, scope: str) -> pd.DataFrame:
    """Replace each identifier column by `<column>_hash` and reduce detail (DOB to month, postcode to district)."""
    frame = frame.copy()
    for name, col in table.columns.items():
        if col.identifier is not None:
            id_scope = scope if col.identifier == "la_person_id" else ""
            raw = frame.pop(name).astype(object).where(lambda s: s.notna(), None)
            frame[f"{name}_hash"] = [
                None if v is None else identifiers.pseudonymise(key, col.identifier, v, id_scope) for v in raw
            ]
        elif col.reduce_to == "month":
            frame[name] = frame[name].dt.to_period("M").dt.to_timestamp()
        elif col.reduce_to == "district":
            frame[name] = frame[name].str.upper().str.split().str[0]
    return frame


def landed_schema(table: Table) -> pa.Schema:
    """Arrow schema of a landed table: area_code, then the contract's columns (identifiers hashed)."""
    arrow_types = {
        "string": pa.string(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
    }
    fields = [pa.field("area_code", pa.string())]
    for name, col in table.columns.items():
        if col.identifier is not None:
            fields.append(pa.field(f"{name}_hash", pa.string()))
        else:
            fields.append(pa.field(name, arrow_types[col.type]))
    return pa.schema(fields)
