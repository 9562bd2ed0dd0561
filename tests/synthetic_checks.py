"""Reading delivered files the way their contract says, for the synthetic-data tests."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from ingestion import contract as contracts
from synthetic import xlsx

BOM = b"\xef\xbb\xbf"


def table_for_file(feed: contracts.FeedContract, name: str) -> tuple[str, contracts.Table] | None:
    """The contract table whose file-name rule matches `name` in full, if any."""
    for table_name, table in feed.tables.items():
        if table.file and re.fullmatch(table.file.name_pattern, name):
            return table_name, table
    return None


def read_delivered(path: Path, table: contracts.Table) -> pd.DataFrame:
    """Cells as text (None for blank), columns named by the header row; rows after the first blank
    row below the header are not data (totals, notes)."""
    rules = table.file
    if path.suffix == ".xlsx":
        rows = [[_xlsx_text(v) for v in row] for row in xlsx.read_sheet(path, rules.sheet)]
    else:
        raw = path.read_bytes()
        if rules.byte_order_mark == "required":
            assert raw.startswith(BOM), f"{path.name}: byte-order mark required"
        if rules.byte_order_mark == "forbidden":
            assert not raw.startswith(BOM), f"{path.name}: byte-order mark not allowed"
        text = raw.decode(rules.encoding.replace("utf-8", "utf-8-sig"))
        rows = [
            [v if v != "" else None for v in row] for row in csv.reader(io.StringIO(text), delimiter=rules.delimiter)
        ]
    header = [h.strip() if isinstance(h, str) else h for h in rows[rules.header_row - 1]]
    body = []
    for row in rows[rules.header_row :]:
        if not any(v not in (None, "") for v in row):
            break
        body.append(row + [None] * (len(header) - len(row)))
    frame = pd.DataFrame([r[: len(header)] for r in body], columns=header, dtype=object)
    missing = set(rules.missing_values)
    if missing:
        frame = frame.map(lambda v: None if v in missing else v)
    return frame


def _xlsx_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def xlsx_dates_to_iso(frame: pd.DataFrame, table: contracts.Table) -> pd.DataFrame:
    """Date cells arrive as Excel serial numbers; make them ISO dates as a reader with styles would."""
    frame = frame.copy()
    for name, column in table.columns.items():
        if column.type == "date" and name in frame:
            frame[name] = [
                xlsx.from_serial(float(v)).isoformat() if isinstance(v, str) and re.fullmatch(r"\d+", v) else v
                for v in frame[name]
            ]
    return frame


def foreign_key_misses(frames: dict[str, pd.DataFrame], feed: contracts.FeedContract) -> dict[str, int]:
    """Per 'table.column', how many present values point at no row of the referenced table."""
    misses = {}
    for name, table in feed.tables.items():
        for column, target in table.foreign_keys.items():
            parent, parent_column = target.split(".")
            values = frames[name][column].dropna()
            bad = int((~values.isin(frames[parent][parent_column])).sum())
            if bad:
                misses[f"{name}.{column}"] = bad
    return misses
