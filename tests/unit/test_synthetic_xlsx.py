import datetime as dt

import pytest

from synthetic import xlsx

SHEETS = {
    "Scorecard": [
        ["Title line"],
        [],
        ["kpi_code", "numerator", "submitted_on", "ok", "note"],
        ["EHCP_20WK_ALL", 12, dt.date(2025, 11, 7), True, " spaced <&> "],
        ["AR_4WK", 3.5, None, False, "45%"],
    ],
    "Guidance": [["kpi_code"], ["EHCP_20WK_ALL"]],
}


def test_workbook_round_trips_text_numbers_dates_and_booleans(tmp_path):
    path = tmp_path / "card.xlsx"
    xlsx.write_workbook(path, SHEETS, {"Scorecard": {3}})
    assert xlsx.sheet_names(path) == ["Scorecard", "Guidance"]
    rows = xlsx.read_sheet(path, "Scorecard")
    assert rows[0] == ["Title line"] and rows[1] == []
    assert rows[3][:2] == ["EHCP_20WK_ALL", 12.0] and rows[3][3] is True and rows[3][4] == " spaced <&> "
    assert xlsx.from_serial(rows[3][2]) == dt.date(2025, 11, 7)
    assert rows[4] == ["AR_4WK", 3.5, None, False, "45%"]


def test_same_content_gives_the_same_bytes(tmp_path):
    xlsx.write_workbook(tmp_path / "a.xlsx", SHEETS)
    xlsx.write_workbook(tmp_path / "b.xlsx", SHEETS)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_excel_libraries_read_it_with_real_date_cells(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    path = tmp_path / "card.xlsx"
    xlsx.write_workbook(path, SHEETS)
    sheet = openpyxl.load_workbook(path)["Scorecard"]
    assert sheet["C4"].value.date() == dt.date(2025, 11, 7)
    assert sheet["A4"].value == "EHCP_20WK_ALL" and sheet["B5"].value == 3.5 and sheet["D4"].value is True


def test_column_letters():
    assert [xlsx.column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]
