"""A corpus of malformed deliveries of the kinds councils and NHS providers really send, built by this
script (never hand-edited), each with what the intake must make of it.

Every case is one file (or inbox entry) of a file feed, with its expected outcome: the file's status
and reason, its row counts (rows in = loaded + rejected) and the rejects it must carry (row, field,
reason). Where a case fails a field, the field holds a planted identifier (`PLANTED`): an NHS number,
a UPN, a date of birth, a postcode or a name, so the privacy scan can prove none of them reaches an
operations table, a rejects or landing file, a log line or an alert.

`python -m tests.adversarial.corpus DIR` writes the corpus to DIR to look at.
"""

# ruff: noqa: E501 - a table of cases: one case a line reads better than one field a line

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

from ingestion.identifiers import nhs_number_check_digit, upn_check_letter
from synthetic import xlsx

RELEASE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "dfe_ehcp_2025"


def _nhs_number(start: int) -> str:
    """A valid NHS number from the never-issued 999 range."""
    while (digit := nhs_number_check_digit(f"999{start:06d}")) is None:
        start += 1
    return f"999{start:06d}{digit}"


NHS = _nhs_number(10_000)  # planted where it does not belong
NHS_SPACED = f"{NHS[:3]} {NHS[3:6]} {NHS[6:]}"
GOOD_NHS = [_nhs_number(20_000 + 13 * i) for i in range(6)]  # in their own column: hashed, never planted
UPN = upn_check_letter("801200001001") + "801200001001"
DOB_ISO, DOB_UK = "1994-11-17", "17/11/1994"  # no date of the synthetic sources is in 1994
POSTCODE = "PR7 4XY"
NAME = "Marjorie Featherstonehaugh"
# What the scan looks for (case-insensitive), every written form of each planted value.
PLANTED = {
    "NHS number": [NHS, NHS_SPACED],
    "UPN": [UPN],
    "date of birth": [DOB_ISO, DOB_UK],
    "postcode": [POSTCODE, POSTCODE.replace(" ", "")],
    "name": [NAME, "Featherstonehaugh"],
}


@dataclass
class Expect:
    status: str  # loaded | quarantined | ignored | deferred | already_loaded
    rows: tuple[int, int, int] | None = None  # rows in, loaded, rejected
    reason: str | None = None  # the file's reason starts with it (quarantined, ignored, deferred)
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (row, field, reason it starts with)
    recorded_as: str | None = None  # the name as recorded, where it is not the name written
    version: int | None = None  # the file version it loads as


@dataclass
class Case:
    feed: str
    name: str  # the entry written in the inbox
    what: str  # what the sender did
    write: Callable[[Path], None]  # writes the entry into the given inbox
    expect: Expect
    round: int = 1  # DfE files have fixed names: one file per name per intake run


# -- ICB provider files --------------------------------------------------------------------------------

REFERRAL_COLUMNS = [
    "provider_ods_code", "snapshot_date", "referral_id", "nhs_number", "date_of_birth", "gender", "postcode",
    "local_authority_code", "pathway", "referral_source", "referral_received_date", "first_contact_date",
    "assessment_start_date", "outcome", "outcome_date", "support_offered", "support_offered_date", "last_updated",
]  # fmt: skip
WAITING_COLUMNS = [
    "provider_ods_code", "snapshot_date", "pathway", "local_authority_code", "age_band", "wait_band", "waiting",
    "with_support",
]  # fmt: skip
AGE_BANDS = ["0-4", "5-10", "11-15", "16-17"]
WAIT_BANDS = ["0-4", "4-13", "13-18", "18-52", "52-104", "104+"]
MONTH_END = "2026-01-31"


def _referral(ods: str, n: int, **cells: str) -> list[str]:
    row = {
        "provider_ods_code": ods, "snapshot_date": MONTH_END, "referral_id": f"{ods}-{n:04d}",
        "nhs_number": GOOD_NHS[n % len(GOOD_NHS)], "date_of_birth": "2015-03-01", "gender": "2",
        "postcode": "BB1 1AA", "local_authority_code": "E10000017", "pathway": "ASD", "referral_source": "GP",
        "referral_received_date": "2025-06-02", "first_contact_date": "2025-08-11", "assessment_start_date": "",
        "outcome": "", "outcome_date": "", "support_offered": "Y", "support_offered_date": "2025-09-01",
        "last_updated": "2026-01-20 09:30:00",
    }  # fmt: skip
    return list((row | cells).values())


def _referrals(ods: str, count: int = 5) -> list[list[str]]:
    return [_referral(ods, n) for n in range(1, count + 1)]


def _waiting(ods: str, **override: str) -> list[list[str]]:
    """A complete waiting list of one pathway and LA: every age and wait band, zeros included."""
    rows = []
    for age in AGE_BANDS:
        for wait in WAIT_BANDS:
            count = 3 if (age, wait) == ("5-10", "13-18") else 0
            rows.append([ods, MONTH_END, "ADHD", "E10000017", age, wait, str(count), "1" if count else "0"])
    return rows


def _csv_text(rows: list[list[str]], header: list[str] = REFERRAL_COLUMNS, sep: str = ",", end: str = "\r\n") -> str:
    return end.join(sep.join(r) for r in [header, *rows]) + end


def _bytes(name: str, data: bytes | str, encoding: str = "utf-8") -> Callable[[Path], None]:
    def write(inbox: Path) -> None:
        (inbox / name).write_bytes(data if isinstance(data, bytes) else data.encode(encoding))

    return write


def _referral_file(ods: str) -> str:
    return f"{ods}_ND_REFERRALS_202601.csv"


def _waiting_file(ods: str) -> str:
    return f"{ods}_ND_WAITLIST_202601.csv"


def _icb_case(ods: str, what: str, rows: list[list[str]] | str, expect: Expect, name: str | None = None) -> Case:
    name = name or _referral_file(ods)
    text = rows if isinstance(rows, str) else _csv_text(rows)
    return Case("icb_nd_pathway", name, what, _bytes(name, text), expect)


def icb_cases() -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    # Good files beside the bad: loaded in full.
    add(_icb_case("G01", "a clean referral snapshot", _referrals("G01"), Expect("loaded", (5, 5, 0))))
    add(Case("icb_nd_pathway", _waiting_file("G02"), "a clean waiting list (24 bands)",
             _bytes(_waiting_file("G02"), _csv_text(_waiting("G02"), WAITING_COLUMNS)), Expect("loaded", (24, 24, 0))))  # fmt: skip
    add(_icb_case("G03", "a clean snapshot with a byte-order mark and LF line ends",
                  "\ufeff" + _csv_text(_referrals("G03"), end="\n"), Expect("loaded", (5, 5, 0))))  # fmt: skip

    # Row shapes.
    short = _referrals("A01")
    short[1] = short[1][:-3] + [NHS]  # three cells missing, an NHS number where the last cell was
    add(_icb_case("A01", "a row missing cells", short,
                  Expect("loaded", (5, 4, 1), rejects=[(3, "", "16 cells where the header has 18")])))  # fmt: skip
    long = _csv_text(_referrals("A02")).replace("BB1 1AA", f"{NAME.split()[1]}, {NAME.split()[0]}", 1)
    add(_icb_case("A02", "an unquoted comma inside a value shifts the cells", long,
                  Expect("loaded", (5, 4, 1), rejects=[(2, "", "19 cells where the header has 18")])))  # fmt: skip
    cut = _csv_text(_referrals("A03"))
    cut = cut[: cut.rindex(GOOD_NHS[5 % 6]) + 10]  # the upload stopped inside the last line
    add(_icb_case("A03", "a truncated last line", cut,
                  Expect("loaded", (5, 4, 1), rejects=[(6, "", "4 cells where the header has 18")])))  # fmt: skip
    unclosed = _referrals("A04")
    unclosed[1][2] = '"A04-0002'  # a quote opened in the referral id, closed by the quote on line 5
    unclosed[3][2] = 'A04-0004"'
    add(_icb_case("A04", "an unclosed quote merges lines into one cell", unclosed,
                  Expect("loaded", (3, 2, 1), rejects=[(3, "referral_id", "lines 3-5 were read as one row")])))  # fmt: skip
    at_end = _referrals("A05")
    at_end[4][6] = f'"{POSTCODE}'  # never closed: the rest of the file is one cell
    add(_icb_case("A05", "a quote never closed before the end of the file", at_end,
                  Expect("loaded", (5, 4, 1), rejects=[(6, "", "7 cells where the header has 18")])))  # fmt: skip
    nul = _referrals("A06")
    nul[2][2] = "A06-\x000003"
    add(_icb_case("A06", "a NUL byte inside a cell", nul,
                  Expect("loaded", (5, 4, 1), rejects=[(4, "referral_id", "holds a control character (U+0000)")])))  # fmt: skip
    escape = _referrals("A07")
    escape[0][9] = "GP\x1b[0m"
    add(_icb_case("A07", "a terminal escape code pasted into a code", escape,
                  Expect("loaded", (5, 4, 1), rejects=[(2, "referral_source", "holds a control character (U+001B)")])))  # fmt: skip
    huge = _referrals("A08")
    huge[3][2] = "A08-" + NHS * 20_000  # 200,000 characters in one cell
    add(_icb_case("A08", "one oversized cell", huge,
                  Expect("loaded", (5, 4, 1), rejects=[(5, "referral_id", "200004 characters, more than the 64")])))  # fmt: skip
    interior = _csv_text(_referrals("A09")).replace("\r\n", "\r\n\r\n\r\n", 3).replace("\r\n\r\n\r\n", "\r\n", 2)
    add(_icb_case("A09", "two blank lines in the middle", interior,
                  Expect("loaded", (5, 5, 0), rejects=[(4, "", "rows 4-5 are blank: skipped")])))  # fmt: skip
    add(_icb_case("A10", "blank lines at the end only", _csv_text(_referrals("A10")) + "\r\n\r\n,,,\r\n",
                  Expect("loaded", (5, 5, 0))))  # fmt: skip
    add(_icb_case("A11", "old Mac line ends (CR only)", _csv_text(_referrals("A11"), end="\r"),
                  Expect("loaded", (5, 5, 0))))  # fmt: skip

    # Values.
    def one(ods: str, what: str, expect_row: tuple[str, str], rows_after: tuple[int, int, int] = (5, 4, 1), **cells):
        rows = _referrals(ods)
        rows[2] = _referral(ods, 3, **cells)
        add(_icb_case(ods, what, rows, Expect("loaded", rows_after, rejects=[(4, *expect_row)])))

    one("B01", "a date of birth typed day-first", ("date_of_birth", "not a valid date (expected YYYY-MM-DD)"),
        date_of_birth=DOB_UK)  # fmt: skip
    one("B02", "a received date typed day-first", ("referral_received_date", "not a valid date (expected YYYY-MM-DD): written like '99/99/9999'"),
        referral_received_date=DOB_UK)  # fmt: skip
    one(
        "B03", "an impossible date", ("referral_received_date", "not a valid date"), referral_received_date="2025-02-30"
    )
    one("B04", "a placeholder far in the past", ("referral_received_date", "dated before 2000-01-01"),
        referral_received_date="1900-01-01")  # fmt: skip
    one("B05", "an optional date far in the past", ("first_contact_date", "dated before 2000-01-01"),
        first_contact_date="1899-12-30")  # fmt: skip
    one("B06", "a date after the snapshot month", ("outcome_date", "date after the end of the snapshot month"),
        (5, 5, 0), outcome_date="2034-06-01")  # fmt: skip
    one("B07", "an NHS number with a wrong check digit", ("nhs_number", "invalid nhs number"), (5, 5, 0),
        nhs_number=NHS[:-1] + str((int(NHS[-1]) + 1) % 10))  # fmt: skip
    one("B08", "a postcode that is not one", ("postcode", "not a UK postcode"), (5, 5, 0), postcode=POSTCODE + "Z")
    one("B09", "a name in a coded field", ("pathway", "unknown code written like 'AAAAAAAA AAAAAAAAAAAAAAA'... (26 characters)"),
        pathway=NAME)  # fmt: skip
    one("B10", "an NHS number in the referral id of a row missing its pathway", ("pathway", "missing mandatory field"),
        referral_id=NHS, pathway="")  # fmt: skip
    one("B11", "a UPN in the gender code", ("gender", "unknown code written like 'A999999999999'"), gender=UPN)
    one("B12", "a postcode in the LA code", ("local_authority_code", "not in the expected form"),
        local_authority_code=POSTCODE)  # fmt: skip
    one("B13", "a timestamp that is not one", ("last_updated", "not a valid timestamp"), last_updated=DOB_UK + " 25:00")
    one("B14", "a yes/no written as a sentence", ("support_offered", "32 characters, more than the 10 this field holds"),
        support_offered=f"yes - {NAME}")  # fmt: skip
    one("B15", "a provider code other than the file's", ("provider_ods_code", "not the provider named in the file name"),
        provider_ods_code="Z99")  # fmt: skip
    # NHS systems' placeholders for an open end and an unknown date, beyond a nanosecond timestamp.
    one("B18", "an open end written 9999-12-31", ("outcome_date", "date after the end of the snapshot month"),
        (5, 5, 0), outcome_date="9999-12-31")  # fmt: skip
    one("B19", "an unknown date written 0001-01-01", ("first_contact_date", "dated before 2000-01-01"),
        first_contact_date="0001-01-01")  # fmt: skip
    offsets = _referrals("B16")
    offsets[0][17] = "2025-07-01T10:00:00+01:00"  # BST: 10:00 UK time
    add(_icb_case("B16", "a timestamp with a UTC offset", offsets, Expect("loaded", (5, 5, 0))))
    tight = _referrals("B17")
    tight[0][6], tight[1][6] = "pr74xy", " pr7  4xy "
    add(_icb_case("B17", "postcodes in lower case, without or with extra spaces", tight, Expect("loaded", (5, 5, 0))))

    # Waiting lists.
    def waiting(ods: str, what: str, rows: list[list[str]], expect: Expect) -> None:
        add(Case("icb_nd_pathway", _waiting_file(ods), what, _bytes(_waiting_file(ods), _csv_text(rows, WAITING_COLUMNS)), expect))  # fmt: skip

    missing_band = [r for r in _waiting("W01") if r[4:6] != ["16-17", "104+"]]
    waiting("W01", "a waiting list missing a band", missing_band,
            Expect("loaded", (23, 0, 23), rejects=[(2, "wait_band", "1 of the 24 age_band and wait_band combinations are missing")]))  # fmt: skip
    too_big = _waiting("W02")
    too_big[7][6] = "99999999999999999999"
    waiting("W02", "a count too large for any integer", too_big,
            Expect("loaded", (24, 0, 24), rejects=[(9, "waiting", "too large for a whole-number field")]))  # fmt: skip
    nhs_count = _waiting("W03")
    nhs_count[7][6] = NHS
    waiting("W03", "an NHS number typed into a count", nhs_count,
            Expect("loaded", (24, 0, 24), rejects=[(9, "waiting", "a 10-digit number is above the maximum 100000")]))  # fmt: skip
    name_count = _waiting("W04")
    name_count[7][6] = NAME
    waiting("W04", "a name typed into a count", name_count,
            Expect("loaded", (24, 0, 24), rejects=[(9, "waiting", "not a valid integer: written like 'Aaaaaaaa Aaaaaaaaaaaaaaa'... (26 characters)")]))  # fmt: skip
    negative = _waiting("W05")
    negative[0][6] = "-3"
    waiting("W05", "a negative count", negative,
            Expect("loaded", (24, 0, 24), rejects=[(2, "waiting", "-3 is below the minimum 0")]))  # fmt: skip
    twice = [*_waiting("W06"), _waiting("W06")[8]]
    waiting("W06", "a band sent twice", twice, Expect("loaded", (25, 24, 1), rejects=[(26, None, "exact duplicate of row 10")]))  # fmt: skip

    # Whole files.
    add(Case("icb_nd_pathway", _referral_file("C01"), "saved as UTF-16",
             _bytes(_referral_file("C01"), "\ufeff" + _csv_text(_referrals("C01")), "utf-16-le"),
             Expect("quarantined", reason="saved as UTF-16")))  # fmt: skip
    add(Case("icb_nd_pathway", _referral_file("C02"), "saved as Windows-1252 with an accented name",
             _bytes(_referral_file("C02"), _csv_text(_referrals("C02")).replace("GP", "Médecin", 1), "cp1252"),
             Expect("quarantined", reason="not readable as utf-8 text (byte ")))  # fmt: skip
    add(_icb_case("C03", "no header row: the first line is a child's record",
                  "\r\n".join(",".join(r) for r in [_referral("C03", 1, referral_id=NHS, date_of_birth=DOB_ISO, postcode=POSTCODE), *_referrals("C03")]) + "\r\n",
                  Expect("quarantined", reason="no column the contract names on row 1")))  # fmt: skip
    add(_icb_case("C04", "a header and no rows", _csv_text([]), Expect("loaded", (0, 0, 0))))
    add(_icb_case("C05", "an empty file", "", Expect("quarantined", reason="the file is empty")))
    add(_icb_case("C06", "separated by semicolons", _csv_text(_referrals("C06"), sep=";"),
                  Expect("quarantined", reason="columns missing or renamed")))  # fmt: skip
    renamed = [c if c != "pathway" else "Pathway (ASD/ADHD)" for c in REFERRAL_COLUMNS]
    add(_icb_case("C07", "a renamed column", _csv_text(_referrals("C07"), renamed),
                  Expect("quarantined", reason="columns missing or renamed: pathway (found instead: written like")))  # fmt: skip
    twice_named = [c if c != "gender" else "outcome" for c in REFERRAL_COLUMNS]
    add(_icb_case("C08", "a column named twice", _csv_text(_referrals("C08"), twice_named),
                  Expect("quarantined", reason="column named twice in the header: outcome")))  # fmt: skip
    add(_icb_case("C09", "an extra column of free text", _csv_text([[*r, NAME] for r in _referrals("C09")], [*REFERRAL_COLUMNS, "notes"]),
                  Expect("loaded", (5, 5, 0), rejects=[(1, "notes", "column not in the contract; ignored")])))  # fmt: skip
    add(_icb_case("C10", "columns in another order", _csv_text([r[::-1] for r in _referrals("C10")], REFERRAL_COLUMNS[::-1]),
                  Expect("loaded", (5, 5, 0))))  # fmt: skip
    add(_icb_case("G01", "a resubmission of a month (_v2)", _referrals("G01", 6),
                  Expect("loaded", (6, 6, 0), version=2), name="G01_ND_REFERRALS_202601_v2.csv"))  # fmt: skip
    add(_icb_case("G01", "the same file again as a later version", _csv_text(_referrals("G01")),
                  Expect("already_loaded"), name="G01_ND_REFERRALS_202601_v3.csv"))  # fmt: skip
    add(_icb_case("G01", "a copy under a name no pattern matches, sorted before the original", _csv_text(_referrals("G01")),
                  Expect("quarantined", reason="file name matches no expected pattern", recorded_as="A99_AA_AAAAAAAAA_999999 (aaaa).csv"),
                  name="G01_ND_REFERRALS_202601 (copy).csv"))  # fmt: skip

    # Inbox entries that are not deliveries.
    named = f"{NHS}_referrals.csv"
    add(_icb_case("D01", "a file named after a child", _referrals("D01"),
                  Expect("quarantined", reason="file name matches no expected pattern", recorded_as="9999999999_aaaaaaaaa.csv"),
                  name=named))  # fmt: skip
    add(_icb_case("D02", "a hidden file", _referrals("D02"),
                  Expect("ignored", reason="a hidden file"), name="." + _referral_file("D02")))  # fmt: skip
    add(_icb_case("D03", "an upload still in progress", _referrals("D03"),
                  Expect("deferred", reason="still arriving"), name=_referral_file("D03") + ".part"))  # fmt: skip

    def link(inbox: Path) -> None:
        outside = inbox.parent / "outside.csv"
        outside.write_text(_csv_text([_referral("D04", 1, referral_id=NHS, postcode=POSTCODE)]))
        (inbox / _referral_file("D04")).symlink_to(outside)

    add(Case("icb_nd_pathway", _referral_file("D04"), "a link to a file outside the inbox", link,
             Expect("ignored", reason="a symbolic link: links are never followed")))  # fmt: skip

    def folder(inbox: Path) -> None:
        (inbox / "D05_ND_REFERRALS_202601").mkdir()
        (inbox / "D05_ND_REFERRALS_202601" / _referral_file("D05")).write_text(_csv_text(_referrals("D05")))

    add(Case("icb_nd_pathway", "D05_ND_REFERRALS_202601", "a folder of files", folder,
             Expect("ignored", reason="a folder")))  # fmt: skip
    return cases


# -- Manual returns -----------------------------------------------------------------------------------

SCORECARD = ["kpi_code", "area_code", "period", "numerator", "denominator", "value", "submitted_by"]
SCORECARD += ["submitted_on", "evidence_note"]
MILESTONES = ["milestone_id", "priority_area", "action", "milestone", "owner", "due_date", "rag_status"]
MILESTONES += ["completed_date", "last_updated", "commentary"]
RISKS = ["risk_id", "title", "priority_area", "owner", "likelihood", "impact", "current_score", "target_score"]
RISKS += ["target_date", "status", "last_reviewed"]
SURVEY = ["wave", "area_code", "respondent_group", "question_code", "question_text", "responses"]
SURVEY += ["positive_responses", "percent_positive"]
ON = dt.date(2025, 4, 10)


def _scorecard_rows() -> list[list]:
    return [
        [
            "EHCP_20WK_ALL",
            "E10000017",
            "2025-03",
            10,
            20,
            50.0,
            "SEND Performance Team",
            ON,
            "Counted from the tracker",
        ],
        ["EHCP_20WK_EXCL", "E10000017", "2025-03", 9, 18, 50.0, "SEND Performance Team", ON, None],
        ["EHCP_REQUESTS", "E10000017", "2025-03", 310, None, 310, "SEND Performance Team", ON, None],
    ]


def _milestone_rows() -> list[list]:
    return [
        [f"PII.{n}", "PRIORITY_II", "Improve timeliness", f"Milestone {n}", "Head of SEND", dt.date(2025, 9, 30),
         "GREEN", None, dt.date(2025, 3, 28), "On track"]
        for n in range(1, 6)
    ]  # fmt: skip


def _risk_rows() -> list[list]:
    return [
        [f"R{n}", f"Risk {n}", "PRIORITY_I", "Director of Education", 3, 4, 12, 6, dt.date(2025, 12, 31), "OPEN",
         dt.date(2025, 3, 14)]
        for n in range(1, 5)
    ]  # fmt: skip


def _workbook(name: str, sheet: str, header: list[str], rows: list[list], header_row: int) -> Callable[[Path], None]:
    def write(inbox: Path) -> None:
        title = [[f"{sheet} - Lancashire"], ["Fill in one row per line."], *[[]] * (header_row - 3)]
        xlsx.write_workbook(inbox / name, {sheet: [*title, header, *rows], "Guidance": [["see the guidance"]]})

    return write


def _scorecard(period: str, rows: list[list], what: str, expect: Expect, name: str | None = None) -> Case:
    name = name or f"kpi_scorecard_E10000017_{period}.xlsx"
    rows = [[period if v == "2025-03" else v for v in row] for row in rows]  # the month the file is for
    return Case("manual_returns", name, what, _workbook(name, "Scorecard", SCORECARD, rows, 4), expect)


def _milestones(period: str, rows: list[list], what: str, expect: Expect) -> Case:
    name = f"pap_milestones_{period}.xlsx"
    return Case("manual_returns", name, what, _workbook(name, "Milestones", MILESTONES, rows, 3), expect)


def _risks(period: str, rows: list[list], what: str, expect: Expect) -> Case:
    name = f"risk_register_{period}.xlsx"
    return Case("manual_returns", name, what, _workbook(name, "Risks", RISKS, rows, 3), expect)


def _with_formula(name: str) -> Callable[[Path], None]:
    """A workbook saved by a program, not Excel: openpyxl writes formulas without their results."""

    def write(inbox: Path) -> None:
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "Scorecard"
        period = name.removesuffix(".xlsx")[-7:]
        rows = [[period if v == "2025-03" else v for v in row] for row in _scorecard_rows()]
        for row in [["Scorecard"], ["Fill in"], [], SCORECARD, *rows]:
            sheet.append(row)
        sheet["F5"] = "=D5/E5*100"  # the value of the first KPI, never calculated
        book.create_sheet("Guidance")
        book.save(inbox / name)

    return write


def _cut_workbook(name: str) -> Callable[[Path], None]:
    """The sheet's XML cut off half-way, inside a zip that is otherwise whole."""

    def write(inbox: Path) -> None:
        whole = inbox / f".whole-{name}"
        _workbook(whole.name, "Scorecard", SCORECARD, _scorecard_rows() * 20, 4)(inbox)
        with zipfile.ZipFile(whole) as source, zipfile.ZipFile(inbox / name, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.infolist():
                data = source.read(item)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = data[: len(data) // 2]
                target.writestr(item, data)
        whole.unlink()

    return write


def manual_cases() -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    add(_scorecard("2025-03", _scorecard_rows(), "a clean scorecard", Expect("loaded", (3, 3, 0))))
    add(_milestones("2025-03", _milestone_rows(), "a clean milestone tracker", Expect("loaded", (5, 5, 0))))
    add(_risks("2025-03", _risk_rows(), "a clean risk register", Expect("loaded", (4, 4, 0))))
    survey = _csv_text(
        [["2025-SPRING", "E10000017", "PARENT_CARER", "Q1", '"Do you know where to find the Local Offer?\r\n(tick one)"', "160", "98", "61.3"],
         ["2025-SPRING", "E10000017", "PARENT_CARER", "Q2", "Did you get the support you needed?", "158", "71", "44.9"]],
        SURVEY,
    )  # fmt: skip
    add(Case("manual_returns", "survey_results_2025-SPRING.csv", "a clean survey export with a two-line question",
             _bytes("survey_results_2025-SPRING.csv", "\ufeff" + survey), Expect("loaded", (2, 2, 0))))  # fmt: skip
    csv_card = _csv_text([[str(v) if v is not None else "" for v in r] for r in _scorecard_rows()], SCORECARD)
    csv_card = "Scorecard\r\nFill in\r\n\r\n" + csv_card.replace(str(ON), "10/04/2025")
    add(Case("manual_returns", "kpi_scorecard_E10000017_2025-01.csv", "a scorecard saved as CSV from Excel",
             _bytes("kpi_scorecard_E10000017_2025-01.csv", "\ufeff" + csv_card.replace("2025-03", "2025-01")),
             Expect("loaded", (3, 3, 0))))  # fmt: skip

    gap = _milestone_rows()
    gap[2:2] = [[None] * 10, [None] * 10]
    add(_milestones("2025-04", gap, "two blank rows in the middle of the tracker",
                    Expect("loaded", (5, 5, 0), rejects=[(6, "", "rows 6-7 are blank: skipped")])))  # fmt: skip
    add(Case("manual_returns", "kpi_scorecard_E10000017_2025-04.xlsx", "a formula with no saved result",
             _with_formula("kpi_scorecard_E10000017_2025-04.xlsx"),
             Expect("loaded", (3, 2, 1), rejects=[(5, "value", "a formula with no saved result")])))  # fmt: skip
    add(Case("manual_returns", "kpi_scorecard_E10000017_2025-05.xlsx", "a workbook whose sheet is cut off",
             _cut_workbook("kpi_scorecard_E10000017_2025-05.xlsx"), Expect("quarantined", reason="not a readable Excel workbook")))  # fmt: skip
    add(Case("manual_returns", "kpi_scorecard_E10000017_2025-06.xlsx", "a CSV renamed .xlsx",
             _bytes("kpi_scorecard_E10000017_2025-06.xlsx", csv_card), Expect("quarantined", reason="not a readable Excel workbook")))  # fmt: skip

    def wrong_sheet(inbox: Path) -> None:
        xlsx.write_workbook(inbox / "risk_register_2025-05.xlsx", {"Sheet1": [[], [], RISKS, *_risk_rows()]})

    add(Case("manual_returns", "risk_register_2025-05.xlsx", "the sheet renamed", wrong_sheet,
             Expect("quarantined", reason="no sheet named Risks (found: Sheet1)")))  # fmt: skip
    late = _milestone_rows()
    late[1][8] = dt.date(2031, 3, 28)
    add(_milestones("2025-05", late, "a tracker update dated years after its month",
                    Expect("loaded", (5, 4, 1), rejects=[(5, "last_updated", "dated after 2025-07-31, more than 2 months after the period 2025-05")])))  # fmt: skip
    due = _milestone_rows()
    due[0][5] = dt.date(2035, 1, 1)
    add(_milestones("2025-06", due, "a due date ten years on",
                    Expect("loaded", (5, 4, 1), rejects=[(4, "due_date", "dated after 2030-06-30")])))  # fmt: skip
    commentary = _milestone_rows()
    commentary[3][9] = f"Parent of child {NHS_SPACED} asked for an update"
    commentary[4][9] = f"Visit at {POSTCODE} on Tuesday"
    add(_milestones("2025-07", commentary, "identifiers typed into the commentary",
                    Expect("loaded", (5, 5, 0), rejects=[(7, "commentary", "holds what looks like an NHS number"),
                                                         (8, "commentary", "holds what looks like a postcode")])))  # fmt: skip
    owner = _milestone_rows()
    owner[0][4] = f"{NAME} ({UPN})"
    add(_milestones("2025-08", owner, "a UPN in a mandatory free-text field",
                    Expect("loaded", (5, 4, 1), rejects=[(4, "owner", "holds what looks like a UPN")])))  # fmt: skip
    serial = _risk_rows()
    serial[0][8] = 45_900  # a date typed as Excel's serial number into a text-formatted cell
    serial[1][4] = NAME
    add(_risks("2025-06", serial, "a date as a serial number and a name in a score",
               Expect("loaded", (4, 2, 2), rejects=[(4, "target_date", "not a valid date (expected YYYY-MM-DD or DD/MM/YYYY): written like '99999'"),
                                                    (5, "likelihood", "not a valid integer: written like 'Aaaaaaaa Aaaaaaaaaaaaaaa'")])))  # fmt: skip
    codes = _scorecard_rows()
    codes[0][0], codes[1][3], codes[2][2] = NHS, NAME, DOB_UK
    add(_scorecard("2025-07", codes, "identifiers in the KPI code, the numerator and the period",
                   Expect("loaded", (3, 0, 3), rejects=[(5, "kpi_code", "kpi_scorecard_E10000017_2025-07.xlsx, sheet Scorecard, row 5, field kpi_code: KPI code written like '9999999999'"),
                                                        (6, "numerator", "kpi_scorecard_E10000017_2025-07.xlsx, sheet Scorecard, row 6, field numerator: not a valid number: written like"),
                                                        (7, "period", "kpi_scorecard_E10000017_2025-07.xlsx, sheet Scorecard, row 7, field period: not in the expected form: written like '99/99/9999'")])))  # fmt: skip
    big = _scorecard_rows()
    big[0][3], big[0][4] = int(NHS), 20
    add(_scorecard("2025-08", big, "an NHS number as a numerator",
                   Expect("loaded", (3, 2, 1), rejects=[(5, "numerator", "kpi_scorecard_E10000017_2025-08.xlsx, sheet Scorecard, row 5, field numerator: a 10-digit number is above the maximum")])))  # fmt: skip
    essay = _scorecard_rows()
    essay[1][8] = "See the attached. " * 300
    add(_scorecard("2025-09", essay, "an essay in the evidence note",
                   Expect("loaded", (3, 2, 1), rejects=[(6, "evidence_note", "kpi_scorecard_E10000017_2025-09.xlsx, sheet Scorecard, row 6, field evidence_note: 5399 characters, more than the 4000")])))  # fmt: skip
    moved = _scorecard_rows()
    add(Case("manual_returns", "kpi_scorecard_E10000017_2025-10.xlsx", "the header moved down a row",
             _workbook("kpi_scorecard_E10000017_2025-10.xlsx", "Scorecard", SCORECARD, moved, 5),
             Expect("quarantined", reason="row 4, where the header belongs, is empty")))  # fmt: skip
    add(Case("manual_returns", "~$kpi_scorecard_E10000017_2025-03.xlsx", "Excel's lock file of an open workbook",
             _bytes("~$kpi_scorecard_E10000017_2025-03.xlsx", b"\x0bSEND PMO   "),
             Expect("ignored", reason="Excel's lock file", recorded_as="~$aaa_aaaaaaaaa_A99999999_9999-99.xlsx")))  # fmt: skip
    add(Case("manual_returns", f"scorecard for {NAME}.xlsx", "a workbook named after a person",
             _workbook(f"scorecard for {NAME}.xlsx", "Scorecard", SCORECARD, _scorecard_rows()[:2], 4),
             Expect("quarantined", reason="file name matches no expected pattern",
                    recorded_as="aaaaaaaaa aaa Aaaaaaaa Aaaaaaaaaaaaaaaaa.xlsx")))  # fmt: skip
    return cases


# -- DfE release ---------------------------------------------------------------------------------------

DFE_TABLES = ["caseload", "sen_needs_all_plans", "requests", "assessments", "timeliness_20_week", "annual_reviews"]


def _release_head(table: str, rows: int = 40) -> str:
    """The header and the first rows of a published file, as published (byte-order mark included)."""
    with (RELEASE / f"{table}.csv").open(encoding="utf-8-sig", newline="") as handle:
        return "\ufeff" + "".join(line for _, line in zip(range(rows + 1), handle, strict=False))


def _dfe(
    name: str, what: str, text: str | Callable[[Path], None], expect: Expect, round_: int, mtime: float | None = None
) -> Case:
    def write(inbox: Path) -> None:
        if callable(text):
            text(inbox)
        else:
            (inbox / name).write_bytes(text.encode("utf-8"))
        if mtime is not None:
            os.utime(inbox / name, (mtime, mtime))

    return Case("dfe_ehcp_statistics", name, what, write, expect, round=round_)


def _replace_cell(text: str, line: int, column: str, value: str) -> str:
    lines = text.splitlines(keepends=True)
    header = lines[0].lstrip("\ufeff").rstrip("\r\n").split(",")
    cells = lines[line - 1].rstrip("\r\n").split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells) + ("\r\n" if lines[line - 1].endswith("\r\n") else "\n")
    return "".join(lines)


def dfe_cases() -> list[Case]:
    if not RELEASE.exists():
        return []
    now = dt.datetime(2026, 6, 1).timestamp()
    cases = [
        _dfe(f"{t}.csv", "a file of the release as published", _release_head(t), Expect("loaded", (40, 40, 0)), 1, now)
        for t in DFE_TABLES
    ]
    add = cases.append
    add(_dfe("data-guidance.txt", "the release's notes", "Notes", Expect("ignored", reason="documentation"), 1))
    revised = _replace_cell(_release_head("requests"), 5, "requests_received_in_year", "4000")
    add(_dfe("requests.csv", "a revised release under the same name", revised,
             Expect("loaded", (40, 40, 0), version=2), 2, now + 86_400))  # fmt: skip
    add(_dfe("caseload.csv", "re-saved without its byte-order mark", _release_head("caseload").lstrip("\ufeff").replace("\r\n", "\n") + "\n",
             Expect("quarantined", reason="no byte-order mark"), 2))  # fmt: skip
    shifted = _replace_cell(_release_head("assessments"), 3, "la_name", f"{NAME}, {POSTCODE}")
    add(_dfe("assessments.csv", "an unquoted comma in a name", shifted,
             Expect("loaded", (40, 39, 1), rejects=[(3, "", "cells where the header has")]), 2, now + 86_400))  # fmt: skip
    differ = _release_head("annual_reviews").splitlines(keepends=True)
    header = differ[0].lstrip("\ufeff").rstrip("\r\n").split(",")
    second = [i for i, h in enumerate(header) if h == "review_meeting_prior_24"][-1]
    cells = differ[6].rstrip("\r\n").split(",")
    cells[second] = NHS
    differ[6] = ",".join(cells) + "\n"
    add(_dfe("annual_reviews.csv", "the duplicated column disagreeing with itself", "".join(differ),
             Expect("loaded", (40, 39, 1), rejects=[(7, "review_meeting_prior_24", "the two columns differ")]), 2, now + 86_400))  # fmt: skip
    add(_dfe("timeliness_20_week.csv", "a count too large for any integer",
             _replace_cell(_release_head("timeliness_20_week"), 4, "plans_issued_den", "123456789012345678901"),
             Expect("loaded", (40, 39, 1), rejects=[(4, "plans_issued_den", "too large for a whole-number field")]), 2, now + 86_400))  # fmt: skip

    def utf16(inbox: Path) -> None:
        (inbox / "sen_needs_all_plans.csv").write_bytes(_release_head("sen_needs_all_plans").encode("utf-16"))

    add(_dfe("sen_needs_all_plans.csv", "saved as UTF-16", utf16, Expect("quarantined", reason="saved as UTF-16"), 2))
    older = _replace_cell(_release_head("requests"), 5, "requests_received_in_year", "1")
    add(_dfe("requests.csv", "an older copy of the release put back", older,
             Expect("quarantined", reason="older than the copy of requests.csv already loaded"), 3, now - 86_400 * 30))  # fmt: skip
    add(_dfe("caseload.csv", "the same file sent again", _release_head("caseload"), Expect("already_loaded"), 3, now))
    return cases


# -- LA case-management source ---------------------------------------------------------------------------


@dataclass
class SourceCase:
    """A value set in one row of a source table before the extract: its reject, by the row's key."""

    table: str
    row: int  # position in the table as generated
    cells: dict[str, object]
    what: str
    field: str
    reason: str  # the reject's reason contains it
    action: str  # rejected | blanked | flagged


def la_cases() -> list[SourceCase]:
    bad_nhs = NHS[:-1] + str((int(NHS[-1]) + 1) % 10)
    return [
        SourceCase("ssd_ehcp_requests", 0, {"ehcr_ehcp_req_date": "1900-01-01"}, "a placeholder received date", "ehcr_ehcp_req_date", "dated before 1980-01-01", "rejected"),
        SourceCase("ssd_ehcp_requests", 1, {"ehcr_ehcp_req_outcome": NAME}, "a name in a decision code", "ehcr_ehcp_req_outcome", "unknown code written like 'AAAAAAAA AAAA", "rejected"),
        SourceCase("ssd_ehcp_requests", 3, {"last_modified_at": "2099-01-01 00:00:00"}, "a change timestamp in 2099", "last_modified_at", "change timestamp in the future", "flagged"),
        SourceCase("send_ehcp_advice", 0, {"ehad_received_date": "1900-01-01"}, "a placeholder optional date", "ehad_received_date", "dated before 1980-01-01", "blanked"),
        SourceCase("send_ep_allocations", 0, {"epal_team": "North\x00East"}, "a NUL byte in a team name", "epal_team", "holds a control character (U+0000)", "rejected"),
        SourceCase("send_ep_allocations", 1, {"epal_team": f"{NAME} " * 40}, "a runaway text in a team name", "epal_team", "1079 characters, more than the 500", "rejected"),
        SourceCase("ssd_person", 0, {"pers_common_child_id": bad_nhs}, "an NHS number with a wrong check digit", "pers_common_child_id", "invalid nhs number", "blanked"),
        SourceCase("ssd_person", 1, {"pers_postcode": POSTCODE + "Z"}, "a postcode that is not one", "pers_postcode", "not a UK postcode", "blanked"),
        SourceCase("ssd_person", 2, {"pers_sex": NAME}, "a name in the sex code", "pers_sex", "unknown code written like", "rejected"),
        SourceCase("ssd_person", 3, {"pers_dob": "1975-01-01"}, "a date of birth before any child's", "pers_dob", "dated before 1980-01-01", "blanked"),
        SourceCase("ssd_send", 0, {"send_upn": UPN[:-1] + ("1" if UPN[-1] != "1" else "2")}, "a UPN with a wrong check letter", "send_upn", "invalid upn", "blanked"),
        SourceCase("send_annual_reviews", 0, {"anre_outcome": UPN}, "a UPN in the review outcome", "anre_outcome", "unknown code written like 'A999999999999'", "rejected"),
        SourceCase("send_placements", 0, {"plac_urn": NHS}, "an NHS number as a school URN", "plac_urn", "not in the expected form: written like '9999999999'", "blanked"),
        SourceCase("send_post16_activity", 0, {"p16a_status": DOB_ISO}, "a date of birth as an activity status", "p16a_status", "unknown code written like '9999-99-99'", "rejected"),
    ]  # fmt: skip


def all_cases() -> list[Case]:
    return icb_cases() + manual_cases() + dfe_cases()


def write(cases: list[Case], root: Path, round_: int = 1) -> dict[str, Path]:
    """Each feed's inbox (created) with its cases of the round written into it."""
    inboxes: dict[str, Path] = {}
    for case in cases:
        if case.round != round_:
            continue
        inbox = inboxes.setdefault(case.feed, root / case.feed / "inbox")
        inbox.mkdir(parents=True, exist_ok=True)
        case.write(inbox)
    return inboxes


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "adversarial-corpus")
    shutil.rmtree(target, ignore_errors=True)
    built = all_cases()
    for r in sorted({c.round for c in built}):
        write(built, target / f"round{r}", r)
    print(f"{len(built)} cases written to {target}")
    summary = io.StringIO()
    for case in built:
        summary.write(f"{case.feed}\t{case.round}\t{case.name}\t{case.what}\t{case.expect.status}\n")
    (target / "cases.tsv").write_text(summary.getvalue())
