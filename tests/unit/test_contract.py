import pandas as pd
import pytest

from ingestion import contract as contracts

REQUESTS = contracts.load_contract("la_case_management").tables["ssd_ehcp_requests"]
PERSON = contracts.load_contract("la_case_management").tables["ssd_person"]


def _requests(**overrides):
    row = {
        "ehcr_ehcp_request_id": "R1",
        "ehcr_send_table_id": "S1",
        "ehcr_ehcp_req_date": "2024-01-01",
        "ehcr_ehcp_req_outcome_date": "2024-02-01",
        "ehcr_ehcp_req_outcome": "Y",
        "last_modified_at": "2024-02-01 10:00:00",
    }
    return {**row, **overrides}


def test_clean_rows_pass_and_codes_are_normalised():
    frame = pd.DataFrame([_requests(), _requests(ehcr_ehcp_request_id="R2", ehcr_ehcp_req_outcome=" y ")])
    checked = contracts.validate("t", REQUESTS, frame)
    assert len(checked.rows) == 2 and checked.rejects.empty
    assert checked.rows["ehcr_ehcp_req_outcome"].tolist() == ["Y", "Y"]


def test_each_problem_is_named_by_row_field_and_reason():
    frame = pd.DataFrame(
        [
            _requests(),
            _requests(ehcr_ehcp_request_id="R2", ehcr_ehcp_req_outcome="Z"),
            _requests(ehcr_ehcp_request_id="R3", ehcr_ehcp_req_date=None),
            _requests(ehcr_ehcp_request_id="R4", ehcr_ehcp_req_date="31/02/2024"),
        ]
    )
    checked = contracts.validate("la.ssd_ehcp_requests", REQUESTS, frame, first_row=11)
    assert checked.rows["ehcr_ehcp_request_id"].tolist() == ["R1"]
    problems = checked.rejects.set_index("record_key")
    assert problems.loc["R2", "field"] == "ehcr_ehcp_req_outcome"
    assert problems.loc["R2", "reason"].startswith("unknown code 'Z'")
    assert problems.loc["R2", "row_number"] == 12
    assert problems.loc["R3", "reason"] == "missing mandatory field"
    assert problems.loc["R4", "reason"] == "not a valid date (expected ISO 8601)"
    assert set(checked.rejects["action"]) == {"rejected"}


def test_invalid_optional_identifier_is_blanked_and_never_echoed():
    frame = pd.DataFrame(
        [
            {
                "pers_person_id": "P1",
                "pers_common_child_id": "9434765918",
                "pers_sex": "F",
                "pers_dob": "2015-06-17",
                "pers_postcode": "pr1 2ab",
                "last_modified_at": "2024-01-01",
            }
        ]
    )
    checked = contracts.validate("la.ssd_person", PERSON, frame)
    assert len(checked.rows) == 1
    assert checked.rows["pers_common_child_id"].isna().all()
    assert checked.rejects["action"].tolist() == ["blanked"]
    assert "9434765918" not in checked.rejects.to_csv()
    landed = contracts.pseudonymise(PERSON, checked.rows, b"k" * 32, scope="E1")
    assert "pers_person_id" not in landed and landed["pers_person_id_hash"].str.len().tolist() == [32]
    assert landed["pers_dob"].iloc[0] == pd.Timestamp("2015-06-01")
    assert landed["pers_postcode"].iloc[0] == "PR1"


def test_drift_is_caught_by_name_not_position():
    present = list(REQUESTS.columns)[::-1] + ["new_column"]  # reordered plus an extra column: fine
    assert contracts.check_columns("t", REQUESTS, present) == ["new_column"]
    renamed = [c if c != "ehcr_ehcp_req_date" else "received_date" for c in REQUESTS.columns]
    with pytest.raises(contracts.ContractDriftError, match="ehcr_ehcp_req_date"):
        contracts.check_columns("la.ssd_ehcp_requests", REQUESTS, renamed)


SCORECARD = contracts.load_contract("manual_returns").tables["kpi_scorecard"]


def _scorecard(**overrides):
    row = {
        "kpi_code": "EHCP_20WK_ALL",
        "area_code": "E10000017",
        "period": "2025-03",
        "numerator": "10",
        "denominator": "20",
        "value": "50",
        "submitted_by": "Team",
        "submitted_on": "10/04/2025",
        "evidence_note": None,
    }
    return {**row, **overrides}


def test_pattern_minimum_and_maximum_are_enforced_when_asked():
    frame = pd.DataFrame(
        [_scorecard(), _scorecard(period="2025/03"), _scorecard(numerator="-1"), _scorecard(area_code="W06000001")]
    )
    as_published = contracts.validate("t", SCORECARD, frame, date_formats=["%Y-%m-%d", "%d/%m/%Y"])
    assert as_published.rejects.empty  # rules unchecked unless the caller says what a breach does
    checked = contracts.validate(
        "t", SCORECARD, frame, date_formats=["%Y-%m-%d", "%d/%m/%Y"], rule_action="rejected", row_numbers=[5, 6, 7, 8]
    )
    assert checked.rows["submitted_on"].tolist() == [pd.Timestamp("2025-04-10")] * 1  # day-first accepted
    problems = checked.rejects.set_index("row_number")
    assert (
        problems.loc[6, "reason"]
        == "not in the expected form: written like '9999/99' (expected [0-9]{4}-(0[1-9]|1[0-2]))"
    )
    assert problems.loc[7, "reason"] == "-1 is below the minimum 0"
    assert problems.loc[8, "field"] == "area_code"
    blanked = contracts.validate("t", SCORECARD, frame.iloc[[2]], rule_action="blanked", date_formats=["%d/%m/%Y"])
    assert len(blanked.rows) == 1 and blanked.rows["numerator"].isna().all()
    assert blanked.rejects["action"].tolist() == ["blanked"]


def test_record_key_made_of_an_identifier_is_hashed_or_left_blank():
    frame = pd.DataFrame([{"pers_person_id": "P1000001", "last_modified_at": "2024-01-01", "pers_sex": "Q"}])
    frame = frame.reindex(columns=list(PERSON.columns))
    frame["last_modified_at"] = "2024-01-01"
    unkeyed = contracts.validate("t", PERSON, frame)
    assert unkeyed.rejects["record_key"].tolist() == [""]
    keyed = contracts.validate("t", PERSON, frame, pseudonym_key=b"k" * 32, scope="E1")
    assert keyed.rejects["record_key"].str.len().tolist() == [32]
    assert "P1000001" not in keyed.rejects.to_csv()


def test_timestamps_with_and_without_an_offset_parse_together_as_uk_wall_time():
    frame = pd.DataFrame(
        [
            _requests(last_modified_at="2024-02-01 10:00:00"),
            _requests(ehcr_ehcp_request_id="R2", last_modified_at="2024-02-01T10:00:00Z"),
            _requests(ehcr_ehcp_request_id="R3", last_modified_at="2024-07-01T10:00:00+01:00"),
            _requests(ehcr_ehcp_request_id="R4", last_modified_at="2024-07-01T25:00:00"),
        ]
    )
    checked = contracts.validate("t", REQUESTS, frame)
    assert checked.rows["last_modified_at"].tolist() == [
        pd.Timestamp("2024-02-01 10:00"),  # no offset: UK wall time as written
        pd.Timestamp("2024-02-01 10:00"),  # UTC in winter is UK time
        pd.Timestamp("2024-07-01 10:00"),  # +01:00 in summer is UK time (BST)
    ]
    assert checked.rejects[["record_key", "reason"]].values.tolist() == [
        ["R4", "not a valid timestamp (expected ISO 8601)"]
    ]
    assert checked.record_keys.tolist() == ["R1", "R2", "R3"]  # of the rows that passed


def test_whole_numbers_and_decimals_read_the_same_way_in_any_mix():
    frame = pd.DataFrame([_scorecard(numerator=n) for n in ("12", "-3", "007", "12.0", "1e2", "x", None)])
    mixed = contracts.validate("t", SCORECARD, frame, date_formats=["%d/%m/%Y"])
    whole = contracts.validate("t", SCORECARD, frame.iloc[:3], date_formats=["%d/%m/%Y"])
    assert mixed.rows["numerator"].tolist()[:3] == whole.rows["numerator"].tolist() == [12, -3, 7]
    assert mixed.rows["numerator"].tolist()[3:5] == [12, 100]
    assert mixed.rejects["reason"].tolist() == ["not a valid number: 'x'"]


def test_a_screened_record_key_keeps_an_la_code_and_hashes_what_looks_personal():
    """Files' key columns are screened (a shifted cell can put anything there): an NHS number in the
    area column is hashed; the LA's ONS code is the value the column holds, kept so a reject says
    which LA's row it was."""
    frame = pd.DataFrame(
        [_scorecard(), _scorecard(area_code="943 476 5919"), _scorecard(area_code="E100000171", numerator="x")]
    )
    keys = contracts.record_keys_of(SCORECARD, frame, b"k" * 32, screen=True).tolist()
    assert keys[0] == "EHCP_20WK_ALL|E10000017|2025-03"
    assert all(k.startswith("EHCP_20WK_ALL|#") and "943" not in k and "E100000171" not in k for k in keys[1:])


def test_placeholder_dates_in_a_file_are_read_not_a_crash():
    """NHS extracts write open ends and unknowns as 9999-12-31 or 0001-01-01: beyond what a nanosecond
    timestamp holds, they once raised and set the whole file aside. They read as dates, and the rules
    for dates (a year ahead flagged) apply to them like any other."""
    referrals = contracts.load_contract("icb_nd_pathway").tables["nd_referrals"]
    row = {name: "" for name in referrals.columns}
    frame = pd.DataFrame([{**row, "outcome_date": "9999-12-31"}, {**row, "outcome_date": "0001-01-01"}])
    checked = contracts.validate(
        "f", referrals, frame, date_formats=["%Y-%m-%d", "%d/%m/%Y"], flag_dates_after=pd.Timestamp("2027-12-31")
    )
    outcome = checked.rejects[checked.rejects["field"] == "outcome_date"]
    assert outcome["reason"].str.startswith("date after 2027-12-31").tolist() == [True]
    assert outcome["row_number"].tolist() == [1]
    assert not checked.rejects["reason"].str.contains("not a valid date").any()
