"""Reading a delivered file as its contract says: CSV (Arrow's parser where it reads the file as the
csv module would, the csv module otherwise) or an Excel sheet (openpyxl), header checked by name.

What a reader finds wrong with the file as a whole raises `FileRejected` (the file is quarantined);
what it finds wrong with a row becomes a note on that row (short and long rows, a line break inside
a cell, a formula without a saved result, blank rows in the middle), so the rest of the file still
loads. No note or reason quotes a cell as written (`privacy.describe`).
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import itertools
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ingestion import contract as contracts
from ingestion import privacy

BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-32 little-endian starts with the first of these too
# Beyond a field's own limit (checked per row in validation) a cell this long is not worth reading.
CSV_FIELD_LIMIT = 16 * 1024 * 1024
_LINE_BREAK = r"[\r\n]"


class FileRejected(Exception):
    """The whole file is set aside: `row` is 0 for the file itself, else the header row."""

    def __init__(self, field: str, reason: str, row: int = 0):
        super().__init__(reason)
        self.field, self.reason, self.row = field, reason, row


@dataclass
class Delivered:
    """A file read as its contract says: the text cells of the contract's columns, by name, with
    their row numbers."""

    columns: dict[str, pa.Array]  # contract column -> one large_string cell per row
    row_numbers: list[int]
    header_row: int
    sheet: str | None = None
    extra_columns: list[str] = field(default_factory=list)
    # Row problems found while reading: row_number, field, reason, action ("rejected": the row is not
    # loaded; "skipped": a blank row, reported and not counted as a row).
    notes: list[dict] = field(default_factory=list)


def note(row: int, field_name: str, reason: str, action: str = "rejected") -> dict:
    return {"row_number": row, "field": field_name, "reason": reason, "action": action}


@dataclass
class _Grid:
    """The table of a file as read: its header, and the rows under it with their row numbers."""

    header_row: int
    header: list[str]
    row_numbers: list[int]
    cells: Callable[[int], pa.Array]  # column position -> its text cells, one per row
    notes: list[dict]
    last_lines: dict[int, int] = field(default_factory=dict)  # CSV: row -> its last line, where it spans lines


def read_delivered(path: Path, table: contracts.Table) -> Delivered:
    rules = table.file
    sheet = None
    formulas: list[tuple[int, int]] = []
    is_csv = path.suffix.lower() != ".xlsx"
    if is_csv:
        text = _csv_text(path, rules)
        grid = _arrow_grid(text, rules)
        if grid is None:
            grid = _grid(*_csv_rows(text, rules), rules.header_row, is_csv=True)
    else:
        rows, sheet, formulas = _xlsx_rows(path, rules)
        grid = _grid(rows, None, rules.header_row, is_csv=False)
    extra = check_header(table, grid.header, grid.header_row)
    notes = grid.notes
    first: dict[str, int] = {}
    for position, column in enumerate(grid.header):
        if column in first:  # a duplicated column the contract knows: must repeat the first
            same = pc.equal(pc.fill_null(grid.cells(first[column]), ""), pc.fill_null(grid.cells(position), ""))
            for number in np.asarray(grid.row_numbers, dtype=np.int64)[~same.to_numpy(zero_copy_only=False)]:
                notes.append(note(int(number), column, "the two columns differ"))
            continue
        first[column] = position
    columns = {name: grid.cells(first[name]) for name in table.columns}
    if is_csv:
        notes += _line_breaks(table, columns, grid)
    for row, position in formulas:
        if position < len(grid.header) and grid.header[position] in table.columns:
            reason = "a formula with no saved result: open the workbook in Excel, let it calculate, and save it"
            notes.append(note(row, grid.header[position], reason))
    return Delivered(columns, grid.row_numbers, grid.header_row, sheet, extra, notes)


def _line_breaks(table: contracts.Table, columns: dict[str, pa.Array], grid: _Grid) -> list[dict]:
    """A line break inside a CSV cell where the contract expects none: a quote left open merged lines."""
    found = []
    numbers = np.asarray(grid.row_numbers, dtype=np.int64)
    for name, col in table.columns.items():
        if col.multiline or not grid.last_lines:
            continue
        broken = pc.fill_null(pc.match_substring_regex(columns[name], _LINE_BREAK), False).to_numpy(
            zero_copy_only=False
        )
        for row in numbers[broken]:
            last = grid.last_lines.get(int(row), int(row))
            found.append(
                note(int(row), name, f"lines {row}-{last} were read as one row: a quote opened and not closed?")
            )
    return found


def check_header(table: contracts.Table, header: list[str], header_row: int) -> list[str]:
    """Columns by name: missing or renamed ones reject the file; extra ones are reported."""
    rules = table.file
    if len(header) == 1 and rules.delimiter not in header[0] and ";" in header[0]:
        missing = ", ".join(table.columns)
        looks = f"the file looks separated by ';' where '{rules.delimiter}' is expected"
        reason = f"columns missing or renamed: {missing}; {looks}"
        raise FileRejected(missing, reason, header_row)
    if not header:
        raise FileRejected("header", f"row {header_row}, where the header belongs, is empty", header_row)
    if not any(h in table.columns for h in header):
        expected = ", ".join(list(table.columns)[:3])
        raise FileRejected(
            "header",
            f"no column the contract names on row {header_row}: the header row is missing or elsewhere "
            f"(expected names such as {expected})",
            header_row,
        )
    counts = collections.Counter(header).most_common()  # most first, ties in header order
    twice = [h for h, n in counts if n > 1 and h not in rules.duplicate_columns]
    if twice:
        shown = [_header_text(h) for h in twice]
        raise FileRejected(", ".join(shown), f"column named twice in the header: {', '.join(shown)}", header_row)
    missing = [c for c in table.columns if c not in header]
    if missing:
        reason = f"columns missing or renamed: {', '.join(missing)}"
        unexpected = [_header_text(h) for h in header if h not in table.columns]
        if unexpected:
            reason += f" (found instead: {', '.join(unexpected[:5])})"
        raise FileRejected(", ".join(missing), reason, header_row)
    return [_header_text(h) for h in dict.fromkeys(header) if h not in table.columns and h != ""]


def _header_text(name: str) -> str:
    """A header cell as a reason may show it: a column-like name as written, anything else (a row
    of data where the header should be) by its shape."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name) and not privacy.LOOKS_PERSONAL.search(name):
        return name
    return privacy.describe(name)


def _header_names(cells: list) -> list[str]:
    header = [("" if h is None else str(h)).strip().lstrip("\ufeff") for h in cells]
    while header and header[-1] == "":
        header.pop()
    return header


def _blank_notes(blank: list[int]) -> list[dict]:
    """One note per run of blank rows inside the table (rows with data below them)."""
    found = []
    for _, run in itertools.groupby(enumerate(blank), lambda pair: pair[1] - pair[0]):
        lines = [number for _, number in run]
        where = f"row {lines[0]} is" if len(lines) == 1 else f"rows {lines[0]}-{lines[-1]} are"
        found.append(note(lines[0], "", f"{where} blank: skipped, the rows below it were read", "skipped"))
    return found


def _grid(rows: list[tuple[int, list]], last_lines: dict[int, int] | None, header_at: int, *, is_csv: bool) -> _Grid:
    if len(rows) < header_at:
        raise FileRejected("header", f"no header on row {header_at}: the file has {len(rows)} rows")
    header_row, header = rows[header_at - 1]
    header = _header_names(header)
    width = len(header)
    body: list[list] = []
    numbers: list[int] = []
    notes: list[dict] = []
    blank: list[int] = []
    for number, row in rows[header_at:]:
        if not any(row):  # cells are text or None: no non-empty cell
            blank.append(number)
            continue
        if blank:  # blank rows with data below them: inside the table
            notes += _blank_notes(blank)
            blank = []
        if len(row) > width and any(row[width:]):
            reason = f"{len(row)} cells where the header has {width}: a comma inside a value without quotes?"
            notes.append(note(number, "", reason))
        elif len(row) < width and is_csv:  # Excel leaves out empty cells at the end of a row; a CSV line does not
            reason = f"{len(row)} cells where the header has {width}: cells missing, or the line cut short"
            notes.append(note(number, "", reason))
        row = row[:width] + [None] * (width - len(row))
        body.append(row)
        numbers.append(number)
    # Every cell into Arrow in reading order (far quicker than column by column), each column then
    # taken out of it.
    every = pa.array(list(itertools.chain.from_iterable(body)), pa.large_string())
    starts = np.arange(len(body), dtype=np.int64) * width
    return _Grid(header_row, header, numbers, lambda position: every.take(starts + position), notes, last_lines or {})


def _arrow_grid(text: str, rules: contracts.FileRules) -> _Grid | None:
    """The grid read by Arrow's CSV parser, many times quicker than the csv module, for a file both
    read alike: one row per line (no lone CR, no line break inside quotes), quotes only around whole
    cells, every row as wide as the header, no NUL. None for any other file: the csv module reads
    it, and names what is wrong with it."""
    if "\x00" in text or text.count("\r") != text.count("\r\n") or not _quotes_around_cells(text, rules):
        return None
    first_line = next(csv.reader([text.partition("\n")[0]], delimiter=rules.delimiter, quotechar=rules.quote_char))
    names = [str(i) for i in range(len(first_line))]
    if not names:
        return None
    try:
        table = pa_csv.read_csv(
            io.BytesIO(text.encode()),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pa_csv.ParseOptions(
                delimiter=rules.delimiter, quote_char=rules.quote_char, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:  # e.g. a row wider or narrower than the first
        return None
    header_at = rules.header_row
    if table.num_rows < header_at or any(pc.max(pc.utf8_length(c)).as_py() > CSV_FIELD_LIMIT for c in table.columns):
        return None
    header = _header_names([c[header_at - 1].as_py() for c in table.columns])
    if len(header) != len(names):  # blank header cells at the end: the csv module checks the cells below
        return None
    body = table.slice(header_at)
    blank = np.logical_and.reduce([pc.equal(c, "").to_numpy() for c in body.columns])
    notes = []
    if blank.any():
        last_data = np.flatnonzero(~blank)
        inside = np.flatnonzero(blank[: last_data[-1]]) if len(last_data) else np.array([], dtype=np.int64)
        notes = _blank_notes((inside + header_at + 1).tolist())
    rows = np.flatnonzero(~blank)
    if len(rows) < body.num_rows:
        body = body.take(rows)
    numbers = (rows + header_at + 1).tolist()  # a row per line
    return _Grid(header_at, header, numbers, lambda position: body.column(position).combine_chunks(), notes)


def _quotes_around_cells(text: str, rules: contracts.FileRules) -> bool:
    """Every quote opens a cell, closes it or is doubled inside it, and no quoted cell holds a
    line break."""
    quote, ends = rules.quote_char, (rules.delimiter, "\r", "\n")
    opening = text.find(quote)
    while opening != -1:
        if opening > 0 and text[opening - 1] not in (rules.delimiter, "\n"):
            return False
        closing = text.find(quote, opening + 1)
        while closing != -1 and text.startswith(quote, closing + 1):  # a doubled quote inside the cell
            closing = text.find(quote, closing + 2)
        if closing == -1 or (closing + 1 < len(text) and text[closing + 1] not in ends):
            return False
        if "\n" in text[opening:closing] or "\r" in text[opening:closing]:
            return False
        opening = text.find(quote, closing + 1)
    return True


def _csv_text(path: Path, rules: contracts.FileRules) -> str:
    raw = path.read_bytes()
    if not raw.strip():
        raise FileRejected("file", "the file is empty")
    if raw.startswith(UTF16_BOMS) or raw[:200].count(0) > len(raw[:200]) // 4:
        raise FileRejected(
            "file", "saved as UTF-16 (Unicode) text; save it as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')"
        )
    has_bom = raw.startswith(BOM)
    if rules.byte_order_mark == "required" and not has_bom:
        raise FileRejected("file", "no byte-order mark at the start, where the publisher always puts one")
    if rules.byte_order_mark == "forbidden" and has_bom:
        raise FileRejected("file", "starts with a byte-order mark, which this feed does not allow")
    try:
        return raw.decode("utf-8-sig" if rules.encoding.lower().replace("_", "-") == "utf-8" else rules.encoding)
    except UnicodeDecodeError as error:
        raise FileRejected(
            "file",
            f"not readable as {rules.encoding} text (byte {error.start}): saved in another encoding, "
            "e.g. Windows-1252?",
        ) from None


def _csv_rows(text: str, rules: contracts.FileRules) -> tuple[list[tuple[int, list]], dict[int, int]]:
    """Rows with the line each starts on, and the last line of each row spanning several."""
    limit = csv.field_size_limit(CSV_FIELD_LIMIT)  # a long cell is a row's problem, not the file's
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=rules.delimiter, quotechar=rules.quote_char)
        rows, last_lines, line = [], {}, 0
        try:
            for row in reader:
                rows.append((line + 1, row))  # an empty cell stays "": validation reads it as no value
                if reader.line_num > line + 1:
                    last_lines[line + 1] = reader.line_num
                line = reader.line_num
        except csv.Error as error:
            reason = f"not a readable CSV file near line {reader.line_num}: {privacy.redact(error)}"
            raise FileRejected("file", reason) from None
    finally:
        csv.field_size_limit(limit)
    return rows, last_lines


def _xlsx_rows(path: Path, rules: contracts.FileRules) -> tuple[list[tuple[int, list]], str, list[tuple[int, int]]]:
    """The sheet's rows, its name, and the cells holding a formula with no saved result."""
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except PermissionError:
        raise
    except Exception:  # noqa: BLE001 - a damaged zip or XML raises many kinds; none is the platform's fault
        raise FileRejected("file", "not a readable Excel workbook (.xlsx): damaged or not a workbook") from None
    try:
        sheet = rules.sheet or workbook.sheetnames[0]
        if sheet not in workbook.sheetnames:
            raise FileRejected("sheet", f"no sheet named {sheet} (found: {', '.join(workbook.sheetnames)})")
        try:
            rows = [
                (number, [_cell_text(v) for v in row])
                for number, row in enumerate(workbook[sheet].iter_rows(values_only=True), start=1)
            ]
        except Exception:  # noqa: BLE001 - the sheet's XML cut off or corrupt
            raise FileRejected("sheet", f"sheet {sheet} cannot be read: its data is damaged or cut off") from None
    finally:
        workbook.close()
    return rows, sheet, _formulas_without_result(path, sheet, rows)


def _formulas_without_result(path: Path, sheet: str, rows: list[tuple[int, list]]) -> list[tuple[int, int]]:
    """Cells whose formula was never calculated and saved (a workbook written by a program, not Excel):
    their value reads as empty, which would load as a blank."""
    with zipfile.ZipFile(path) as archive:
        if not any(b"<f" in archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/")):
            return []
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        found = []
        for (number, values), formulas in zip(rows, workbook[sheet].iter_rows(values_only=True), strict=False):
            for position, formula in enumerate(formulas):
                empty = position >= len(values) or values[position] is None
                if empty and isinstance(formula, str) and formula.startswith("="):
                    found.append((number, position))
        return found
    finally:
        workbook.close()


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
