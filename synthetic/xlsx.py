"""A small, dependency-free .xlsx writer (and reader for what it writes).

Enough of Office Open XML for the manual templates: several sheets, text, numbers, booleans and
real date cells (serial numbers with a date format), a bold header. Zip entries carry a fixed
timestamp so the same content gives the same bytes (the generator promises identical output for
the same seed). Reading real, Excel-saved workbooks (shared strings, styles) is the ingestion's
job with a full library; `read_sheet` handles both inline and shared strings for tests.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import escape

EPOCH = dt.date(1899, 12, 30)  # Excel's day zero (1900 date system, leap-year bug included)
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_FIXED_TIME = (2000, 1, 1, 0, 0, 0)
_STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{_NS}">
<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""  # noqa: E501
DATE_STYLE, BOLD_STYLE = 1, 2


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _cell(ref: str, value, bold: bool) -> str:
    style = f' s="{BOLD_STYLE}"' if bold else ""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"{style}><v>{int(value)}</v></c>'
    if isinstance(value, dt.datetime):
        serial = (value - dt.datetime(1899, 12, 30)).total_seconds() / 86400
        return f'<c r="{ref}" s="{DATE_STYLE}"><v>{serial:.6f}</v></c>'
    if isinstance(value, dt.date):
        return f'<c r="{ref}" s="{DATE_STYLE}"><v>{(value - EPOCH).days}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"{style}><v>{value!r}</v></c>'
    text = escape(str(value))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}" t="inlineStr"{style}><is><t{space}>{text}</t></is></c>'


def _sheet_xml(rows: list[list], bold_rows: set[int]) -> str:
    body = []
    for r, row in enumerate(rows, start=1):
        cells = "".join(_cell(f"{column_letter(c)}{r}", v, r in bold_rows) for c, v in enumerate(row))
        body.append(f'<row r="{r}">{cells}</row>')
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS}">'
        f"<sheetData>{''.join(body)}</sheetData></worksheet>"
    )


def write_workbook(path: Path, sheets: dict[str, list[list]], bold_rows: dict[str, set[int]] | None = None) -> None:
    """Write sheets (name -> rows of cell values) to `path`."""
    bold_rows = bold_rows or {}
    names = list(sheets)
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for i in range(1, len(names) + 1)
            )
            + "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_NS}" '
            f'xmlns:r="{_REL_NS}"><sheets>'
            + "".join(f'<sheet name="{escape(n)}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, 1))
            + "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, len(names) + 1)
            )
            + f'<Relationship Id="rId{len(names) + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": _STYLES,
    }
    for i, name in enumerate(names, 1):
        files[f"xl/worksheets/sheet{i}.xml"] = _sheet_xml(sheets[name], bold_rows.get(name, set()))
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)


def sheet_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        root = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    return [s.get("name") for s in root.iter(f"{{{_NS}}}sheet")]


def read_sheet(path: Path, sheet: str) -> list[list]:
    """Rows of a sheet as lists of str / float / bool / None. Date cells come back as numbers
    (Excel serials), as any reader without styles sees them; `from_serial` converts."""
    names = sheet_names(path)
    index = names.index(sheet) + 1
    with zipfile.ZipFile(path) as archive:
        shared = []
        if "xl/sharedStrings.xml" in archive.namelist():
            root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{_NS}}}t")) for si in root.iter(f"{{{_NS}}}si")]
        root = ElementTree.fromstring(archive.read(f"xl/worksheets/sheet{index}.xml"))
    rows: list[list] = []
    for row in root.iter(f"{{{_NS}}}row"):
        values: dict[int, object] = {}
        for cell in row.iter(f"{{{_NS}}}c"):
            col = _column_index(re.match(r"[A-Z]+", cell.get("r")).group(0))
            kind = cell.get("t")
            if kind == "inlineStr":
                values[col] = "".join(t.text or "" for t in cell.iter(f"{{{_NS}}}t"))
                continue
            v = cell.find(f"{{{_NS}}}v")
            if v is None:
                continue
            if kind == "s":
                values[col] = shared[int(v.text)]
            elif kind == "b":
                values[col] = v.text == "1"
            elif kind == "str":
                values[col] = v.text
            else:
                values[col] = float(v.text)
        r = int(row.get("r"))
        while len(rows) < r - 1:
            rows.append([])
        rows.append([values.get(c) for c in range(max(values) + 1)] if values else [])
    return rows


def from_serial(value: float) -> dt.date:
    return EPOCH + dt.timedelta(days=int(value))


def _column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index - 1
