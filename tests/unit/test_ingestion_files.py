"""File intake on small hand-made files: header checked by name, every kind of drift caught,
rows accounted for, manual-return messages a submitter can act on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingestion import contract as contracts
from ingestion import files, landing, load
from ingestion.icb_nd_pathway.provider_files import RULES as ICB_RULES
from ingestion.manual_returns import workbooks as manual_returns
from synthetic import xlsx

WAITING = ["provider_ods_code", "snapshot_date", "pathway", "local_authority_code", "age_band", "wait_band"]
WAITING += ["waiting", "with_support"]
ROWS = [
    ["RW5", "2026-10-31", "ADHD", "E10000017", "5-10", "13-18", "4", "1"],
    ["RW5", "2026-10-31", "ADHD", "E10000017", "5-10", "18-52", "7", "0"],
]
AGE_BANDS = ["0-4", "5-10", "11-15", "16-17"]
WAIT_BANDS = ["0-4", "4-13", "13-18", "18-52", "52-104", "104+"]


def _complete(rows: list[list[str]]) -> list[list[str]]:
    """The rows, then a zero row for every age and wait band they leave out: the contract says a
    waiting list sends every band of a pathway and LA (24 rows), zeros included."""
    sent = {tuple(r[4:6]) for r in rows}
    zeros = [[*rows[0][:4], a, w, "0", "0"] for a in AGE_BANDS for w in WAIT_BANDS if (a, w) not in sent]
    return [*rows, *zeros]


def _csv(path: Path, header: list[str], rows: list[list[str]], sep: str = ",", bom: bool = False) -> Path:
    """Rows of ROWS get the snapshot date of the month in the file name."""
    month = path.stem.split("_")[-1]
    if month.isdigit():
        month_end = (pd.Period(f"{month[:4]}-{month[4:]}", "M").end_time).date().isoformat()
        rows = [[month_end if v == "2026-10-31" else v for v in r] for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\r\n".join(sep.join(r) for r in [header, *rows]) + "\r\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def _intake(inbox: Path, tmp_path: Path, key: bytes, rules=ICB_RULES, run_id="run-1", seen=frozenset()):
    manifest = files.intake(rules, inbox, tmp_path / "landing", key, run_id, set(seen))
    assert not contracts._HASHES  # no raw identifier outlives the intake that read it
    return landing.read_manifest(manifest), manifest


def _by_name(manifest: landing.Manifest) -> dict[str, landing.FileBatch]:
    return {f.name: f for f in manifest.files}


def _rejects(manifest_path: Path) -> pd.DataFrame:
    parts = [pd.read_parquet(p) for p in manifest_path.parent.glob("*.rejects.parquet")]
    return pd.concat(parts, ignore_index=True)


def test_each_kind_of_header_drift_is_caught_by_name(tmp_path, key):
    inbox = tmp_path / "inbox"
    renamed = [c if c != "waiting" else "WAITING" for c in WAITING]
    rows = _complete(ROWS)
    _csv(inbox / "RW5_ND_WAITLIST_202601.csv", WAITING, rows, bom=True)  # clean, with a byte-order mark
    _csv(inbox / "RW5_ND_WAITLIST_202602.csv", WAITING[::-1], [r[::-1] for r in rows])  # reordered
    _csv(inbox / "RW5_ND_WAITLIST_202603.csv", [*WAITING, "notes"], [[*r, "x"] for r in rows])  # extra
    _csv(inbox / "RW5_ND_WAITLIST_202604.csv", WAITING[:-1], [r[:-1] for r in rows])  # missing
    _csv(inbox / "RW5_ND_WAITLIST_202605.csv", renamed, rows)  # renamed
    _csv(inbox / "RW5_ND_WAITLIST_202606.csv", WAITING, rows, sep=";")  # semicolons
    retyped = [[*r[:6], "four", r[7]] if i == 0 else r for i, r in enumerate(rows)]
    _csv(inbox / "RW5_ND_WAITLIST_202607.csv", WAITING, retyped)  # a count as text
    _csv(inbox / "RW5 waiting list July.csv", WAITING, rows)  # misnamed
    manifest, path = _intake(inbox, tmp_path, key)
    got = _by_name(manifest)
    assert [got[f"RW5_ND_WAITLIST_2026{m:02d}.csv"].rows_loaded for m in (1, 2, 3)] == [24, 24, 24]
    assert got["RW5_ND_WAITLIST_202603.csv"].extra_columns == ["notes"]
    assert got["RW5_ND_WAITLIST_202604.csv"].reason == "columns missing or renamed: with_support"
    assert got["RW5_ND_WAITLIST_202605.csv"].reason == "columns missing or renamed: waiting (found instead: WAITING)"
    assert got["RW5_ND_WAITLIST_202606.csv"].reason.endswith("the file looks separated by ';' where ',' is expected")
    # A name no pattern matches may hold anything: recorded by its shape and a keyed hash.
    misnamed = got[files.recorded_name("RW5 waiting list July.csv", key)]
    assert misnamed.name.startswith("AA9 aaaaaaa aaaa Aaaa.csv #")
    assert (misnamed.status, misnamed.reason) == ("quarantined", "file name matches no expected pattern")
    # A band that cannot be read leaves its pathway and LA incomplete: none of the 24 rows loads.
    assert (got["RW5_ND_WAITLIST_202607.csv"].rows_loaded, got["RW5_ND_WAITLIST_202607.csv"].rows_rejected) == (0, 24)
    rejects = _rejects(path).set_index("source")
    retyped_rejects = rejects.loc["RW5_ND_WAITLIST_202607.csv"].set_index("row_number")
    assert retyped_rejects.loc[2, "reason"] == "not a valid integer: 'four'"  # the line in the file
    assert retyped_rejects.loc[3, "reason"].startswith("1 of the 24 age_band and wait_band combinations are missing")
    assert rejects.loc["RW5_ND_WAITLIST_202605.csv", "row_number"] == 1  # the header row
    assert rejects.loc["RW5_ND_WAITLIST_202605.csv", "action"] == "quarantined"
    assert rejects.loc["RW5_ND_WAITLIST_202603.csv", "action"] == "ignored"
    # Loaded by name: the reordered file's values are where they belong.
    con = duckdb.connect()
    load.load_batch(con, path)
    waiting = con.execute(
        "select _source_file, sum(waiting), sum(with_support), min(snapshot_date) "
        "from raw_icb_nd_pathway.nd_waiting_list group by 1 order by 1"
    ).fetchall()
    assert [w[1:3] for w in waiting] == [(11, 1)] * 3
    row = con.execute("select sum(rows_in), sum(rows_loaded), sum(rows_rejected) from ops.loaded_batches").fetchone()
    assert row == (4 * 24, 3 * 24, 24)  # three files quarantined before their rows were read


def test_same_file_twice_loads_once_and_a_changed_file_under_a_used_name_is_quarantined(tmp_path, key):
    inbox = tmp_path / "inbox"
    _csv(inbox / "RW5_ND_WAITLIST_202601.csv", WAITING, _complete(ROWS))
    _csv(inbox / "copy_of_the_same.csv", WAITING, _complete(ROWS))
    con = duckdb.connect()
    first, path = _intake(inbox, tmp_path, key)
    load.load_batch(con, path)
    seen = load.loaded_file_checksums(con, "icb_nd_pathway")
    second, path2 = _intake(inbox, tmp_path, key, run_id="run-2", seen=seen)
    assert {f.status for f in second.files} == {"already_loaded"}
    load.load_batch(con, path2)
    assert con.execute("select count(*) from raw_icb_nd_pathway.nd_waiting_list").fetchone() == (24,)
    _csv(inbox / "RW5_ND_WAITLIST_202601.csv", WAITING, _complete(ROWS[:1]))  # changed, same name
    third = landing.read_manifest(
        files.intake(
            ICB_RULES, inbox, tmp_path / "landing", key, "run-3", seen, load.loaded_file_names(con, "icb_nd_pathway")
        )
    )
    changed = _by_name(third)["RW5_ND_WAITLIST_202601.csv"]
    assert changed.status == "quarantined" and "resend it as a new version (_v2)" in changed.reason


def test_in_file_duplicates_are_rejected_with_the_row_they_repeat(tmp_path, key):
    inbox = tmp_path / "inbox"
    changed = [*ROWS[0][:6], "5", "1"]
    _csv(inbox / "RW5_ND_WAITLIST_202601.csv", WAITING, _complete([ROWS[0], ROWS[1], ROWS[0], changed]))
    manifest, path = _intake(inbox, tmp_path, key)
    reasons = _rejects(path).set_index("row_number")["reason"].to_dict()
    assert reasons == {4: "exact duplicate of row 2", 5: "same key of row 2"}
    assert manifest.files[0].rows_in == 26 == manifest.files[0].rows_loaded + manifest.files[0].rows_rejected


def test_unreadable_inbox_propagates(tmp_path, key):
    with pytest.raises(OSError):
        files.intake(ICB_RULES, tmp_path / "no-such-inbox", tmp_path / "landing", key, "run-1", set())


def _scorecard(path: Path, rows: list[list]) -> Path:
    title = [["SEND KPI scorecard - Lancashire - March 2025"], ["Complete one row per KPI."], []]
    header = ["kpi_code", "area_code", "period", "numerator", "denominator", "value", "submitted_by"]
    header += ["submitted_on", "evidence_note"]
    xlsx.write_workbook(path, {"Scorecard": [*title, header, *rows], "Guidance": [["kpi_code"]]})
    return path


def test_manual_scorecard_rejects_name_workbook_sheet_row_and_field(tmp_path, key):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    on = dt.date(2025, 4, 10)
    good = ["EHCP_20WK_ALL", "E10000017", "2025-03", 10, 20, 50.0, "SEND Performance Team", on, "Counted"]
    _scorecard(
        inbox / "kpi_scorecard_E10000017_2025-03.xlsx",
        [
            good,  # row 5
            ["EHCP_20WK_EXCL", "E10000017", "2025-03", 9, 18, 50.0, None, on, None],  # no submitter
            ["EHCP_REQUESTS", "E10000017", "2025-03", 12, 10, 12, "SEND Performance Team", on, None],  # over
            [" ehcp_20wk_excl ", "E10000017", "Mar-25", 1, 2, "50%", "Team", "10/04/2025", None],
            ["EHCP_20WKALL", "E10000017", "2025-03", 1, 2, 50, "Team", on, None],  # typo
            [],
            ["Total", None, None, 32, 50],  # below a blank row: read, and rejected with its reasons
        ],
    )
    manifest, path = _intake(inbox, tmp_path, key, rules=manual_returns.RULES)
    batch = manifest.files[0]
    assert (batch.rows_in, batch.rows_loaded, batch.rows_rejected) == (6, 1, 5)
    messages = set(_rejects(path)["reason"])
    where = "kpi_scorecard_E10000017_2025-03.xlsx, sheet Scorecard"
    assert f"{where}, row 7, field numerator: numerator 12 is above the denominator 10" in messages
    assert f"{where}, row 6, field submitted_by: submitted_by is empty; it must be filled in" in messages
    assert (
        f"{where}, row 8, field value: not a valid number: written like '99%'; enter the number without the % sign"
        in messages
    )
    assert any(
        m.startswith(f"{where}, row 8, field period: not in the expected form: written like 'Aaa-99'") for m in messages
    )
    assert (
        f"{where}, row 9, field kpi_code: KPI code 'EHCP_20WKALL' is not in the KPI catalogue (see the Guidance sheet)"
        in messages
    )
    assert f"{where}, row 10: row 10 is blank: skipped, the rows below it were read" in messages
    assert f"{where}, row 11, field area_code: area_code is empty; it must be filled in" in messages
    con = duckdb.connect()
    load.load_batch(con, path)
    landed = con.execute("select kpi_code, numerator, submitted_on, _source_row from raw_manual_returns.kpi_scorecard")
    assert landed.fetchall() == [("EHCP_20WK_ALL", 10.0, on, 5)]


REFERRALS = ["provider_ods_code", "snapshot_date", "referral_id", "nhs_number", "date_of_birth", "gender"]
REFERRALS += ["postcode", "local_authority_code", "pathway", "referral_source", "referral_received_date"]
REFERRALS += ["first_contact_date", "assessment_start_date", "outcome", "outcome_date", "support_offered"]
REFERRALS += ["support_offered_date", "last_updated"]


def _referral(**overrides) -> list[str]:
    row = dict.fromkeys(REFERRALS, "")
    row |= {"provider_ods_code": "RXN", "snapshot_date": "2026-01-31", "referral_id": "R1", "nhs_number": "9434765919"}
    row |= {"date_of_birth": "2015-06-17", "gender": "1", "postcode": "PR1 2AB", "pathway": "ASD"}
    row |= {"referral_received_date": "2025-10-01", "last_updated": "2026-01-20T10:00:00"}
    return list((row | overrides).values())


def test_referral_rules_reject_blank_or_flag_with_reasons_and_hash_identifiers(tmp_path, key):
    inbox = tmp_path / "inbox"
    rows = [
        _referral(),  # line 2
        _referral(referral_id="R2", nhs_number="9434765918"),  # wrong check digit: blanked
        _referral(referral_id="R3", referral_received_date="2035-10-01"),  # a decade typo
        _referral(referral_id="R4", assessment_start_date="2025-09-01"),  # before the referral: flagged
        _referral(referral_id="R5", referral_received_date="01/10/2025"),  # day-first
        _referral(referral_id="R6", pathway=" asd "),  # untidy but valid
    ]
    _csv(inbox / "RXN_ND_REFERRALS_202601.csv", REFERRALS, rows)
    manifest, path = _intake(inbox, tmp_path, key)
    rejects = _rejects(path).set_index("row_number")
    assert rejects.loc[3, ["reason", "action"]].tolist() == ["invalid nhs number", "blanked"]
    assert rejects.loc[4, ["reason", "action"]].tolist() == ["date after the end of the snapshot month", "rejected"]
    assert rejects.loc[5, ["field", "action"]].tolist() == ["assessment_start_date", "flagged"]
    assert rejects.loc[6, "reason"] == "not a valid date (expected YYYY-MM-DD): written like '99/99/9999'"
    assert (manifest.files[0].rows_loaded, manifest.files[0].rows_rejected) == (4, 2)
    con = duckdb.connect()
    load.load_batch(con, path)
    landed = con.execute(
        "select referral_id, nhs_number_hash, date_of_birth, postcode, pathway from raw_icb_nd_pathway.nd_referrals "
        "order by 1"
    ).fetchall()
    assert [r[0] for r in landed] == ["R1", "R2", "R4", "R6"]
    assert len(landed[0][1]) == 32 and landed[1][1] is None
    assert landed[0][2:] == (dt.date(2015, 6, 1), "PR1", "ASD")
    assert "9434765919" not in path.parent.joinpath("nd_referrals.parquet").read_bytes().decode("latin-1")


def test_files_validated_together_land_as_they_would_one_by_one(tmp_path, key, monkeypatch):
    inbox = tmp_path / "inbox"
    _csv(inbox / "RW5_ND_WAITLIST_202601.csv", WAITING, _complete(ROWS))
    resent = [[v.replace("2026-10-31", "2026-01-31") for v in r] for r in (ROWS[1], ROWS[0])]
    _csv(inbox / "RW5_ND_WAITLIST_202601_v2.csv", WAITING, _complete(resent))  # the same keys, in another file
    _csv(inbox / "RW5_ND_WAITLIST_202602.csv", WAITING, [*_complete(ROWS), ROWS[0]])  # row 2 again on line 26
    _csv(inbox / "RW5_ND_WAITLIST_202603.csv", WAITING[:-1], [r[:-1] for r in ROWS])  # quarantined in between
    _csv(inbox / "RW5_ND_WAITLIST_202604.csv", WAITING, _complete([[*ROWS[0][:6], "1", "3"], ROWS[1]]))
    _csv(inbox / "RW5_ND_WAITLIST_202605.csv", WAITING, _complete([ROWS[0], [*ROWS[1][:6], "four", "1"]]))

    def land(group_rows: int, run_id: str):
        monkeypatch.setattr(files, "GROUP_ROWS", group_rows)
        manifest, path = _intake(inbox, tmp_path, key, run_id=run_id)
        rows = pd.read_parquet(path.parent / "nd_waiting_list.parquet")
        return manifest, rows, pd.read_parquet(path.parent / "nd_waiting_list.rejects.parquet")

    one_by_one = land(1, "run-1")
    together = land(10_000, "run-2")
    pd.testing.assert_frame_equal(together[1], one_by_one[1])
    pd.testing.assert_frame_equal(together[2], one_by_one[2])
    counts = [
        [(f.name, f.status, f.rows_in, f.rows_loaded, f.rows_rejected) for f in m.files]
        for m in (together[0], one_by_one[0])
    ]
    assert counts[0] == counts[1]
    rows, rejects = together[1], together[2]
    assert rows.groupby("_source_file").size().to_dict() == {
        "RW5_ND_WAITLIST_202601.csv": 24,
        "RW5_ND_WAITLIST_202601_v2.csv": 24,  # a key repeated in another file is no duplicate
        "RW5_ND_WAITLIST_202602.csv": 24,
    }
    first = rejects.drop_duplicates("source")[["source", "row_number", "field", "reason", "action"]]
    assert first.values.tolist() == [
        ["RW5_ND_WAITLIST_202602.csv", 26, ", ".join(WAITING[:6]), "exact duplicate of row 2", "rejected"],
        ["RW5_ND_WAITLIST_202603.csv", 1, "with_support", "columns missing or renamed: with_support", "quarantined"],
        ["RW5_ND_WAITLIST_202604.csv", 2, "with_support", "more children with support than waiting", "rejected"],
        ["RW5_ND_WAITLIST_202605.csv", 3, "waiting", "not a valid integer: 'four'", "rejected"],
    ]
    # One bad band leaves its group incomplete: the file's other 23 rows are rejected with it.
    assert rejects.groupby("source").size().to_dict() == {
        "RW5_ND_WAITLIST_202602.csv": 1,
        "RW5_ND_WAITLIST_202603.csv": 1,
        "RW5_ND_WAITLIST_202604.csv": 24,
        "RW5_ND_WAITLIST_202605.csv": 24,
    }
