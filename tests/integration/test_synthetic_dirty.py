"""Dirty data at a chosen rate: every kind real extracts carry shows up, and the contracts catch
what they should."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from ingestion import contract as contracts
from ingestion import identifiers
from synthetic.generator import generate_all
from synthetic.la_case_management import SCALES, build_la
from tests.synthetic_checks import foreign_key_misses, read_delivered, table_for_file

AS_OF = dt.date(2026, 3, 31)
LA = contracts.load_contract("la_case_management")
ICB = contracts.load_contract("icb_nd_pathway")
MANUAL = contracts.load_contract("manual_returns")


@pytest.fixture(scope="module")
def dirty_la():
    scale = SCALES["lancashire"].resized(0.05)
    return build_la(scale, scale.home_area, 21, AS_OF, first_year=2023, dirty_rate=0.08).frames


def _rejects(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    parts = [contracts.validate(name, LA.tables[name], frame).rejects for name, frame in frames.items()]
    return pd.concat(parts, ignore_index=True)


def test_every_kind_of_la_problem_is_present(dirty_la):
    rejects = _rejects(dirty_la)
    reasons = rejects["reason"]
    assert reasons.str.startswith("unknown code").any()
    assert (reasons == "missing mandatory field").any()
    assert (reasons == "invalid nhs number").any() and (reasons == "invalid upn").any()
    person = dirty_la["ssd_person"]
    twice = person["pers_common_child_id"].dropna().duplicated()
    assert twice.any()  # duplicate person records: one NHS number, two person ids
    requests = dirty_la["ssd_ehcp_requests"]
    received = pd.to_datetime(requests["ehcr_ehcp_req_date"])
    assert (pd.to_datetime(requests["ehcr_ehcp_req_outcome_date"]) < received).any()  # dates out of order
    assert (received > pd.Timestamp(AS_OF)).any()  # future dates
    assert (pd.to_datetime(dirty_la["ssd_ehcp_named_plan"]["ehcn_named_plan_ceased_date"]).dt.year == 2099).any()
    outcome = requests["ehcr_ehcp_req_outcome"].dropna()
    assert (outcome != outcome.str.strip()).any() and (outcome.str.strip() != outcome.str.upper()).any()
    assert foreign_key_misses(dirty_la, LA)  # rows deleted or rejected upstream leave orphans


def test_valid_nhs_numbers_are_all_from_the_never_issued_range(dirty_la):
    numbers = pd.concat([dirty_la["ssd_person"]["pers_common_child_id"]]).dropna()
    valid = numbers[numbers.map(identifiers.is_valid_nhs_number)]
    assert len(valid) > 0.9 * len(numbers)
    assert valid.str.startswith("999").all()


def test_demo_keeps_references_whole_so_the_pipeline_checks_pass():
    scale = SCALES["demo"].resized(0.3)
    frames = build_la(scale, scale.home_area, 21, AS_OF, first_year=2024, dirty_rate=0.08).frames
    rejected = {
        name: set(contracts.validate(name, LA.tables[name], f).rejects["record_key"]) for name, f in frames.items()
    }
    kept = {name: f[~f[f.columns[0]].isin(rejected[name])] for name, f in frames.items()}
    assert "ssd_ehcp_assessment.ehca_ehcp_request_id" not in foreign_key_misses(kept, LA)
    assert any(rejected.values())  # still dirty, just not in rows others depend on


@pytest.fixture(scope="module")
def dirty_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("dirty")
    generate_all("demo", seed=4, as_of=AS_OF, target=None, out=out, dirty_rate=0.2, size=0.5, jobs=1,
                 progress=False, icb_months=6)  # fmt: skip
    return out


def test_icb_files_carry_file_and_row_problems(dirty_files):
    files = sorted((dirty_files / "icb_nd_pathway").iterdir())
    unmatched = [p.name for p in files if table_for_file(ICB, p.name) is None]
    assert unmatched  # misnamed drops
    assert any("_v2" in p.name for p in files)  # resubmissions
    contents = [p.read_bytes() for p in files]
    assert any(c.startswith(b"\xef\xbb\xbf") for c in contents) and any(b"\r\n" in c for c in contents)
    assert any(c.split(b"\n", 1)[0].count(b";") > 3 for c in contents)  # semicolon-delimited
    problems = set()
    for path in files:
        match = table_for_file(ICB, path.name)
        if not match or match[0] != "nd_referrals":
            continue
        frame = read_delivered(path, match[1])
        try:
            extra = contracts.check_columns(path.name, match[1], list(frame.columns))
        except contracts.ContractDriftError:
            problems.add("drift")
            continue
        problems.update({"extra column"} if extra else set())
        if frame.drop(columns=extra).duplicated().any():
            problems.add("duplicate rows")
        problems.update(contracts.validate(path.name, match[1], frame.drop(columns=extra)).rejects["reason"])
    assert {"drift", "duplicate rows", "invalid nhs number"} <= problems
    assert any(r.startswith("not a valid date") for r in problems)  # day-first dates
    assert any(r.startswith("unknown code") for r in problems)


def test_manual_returns_carry_the_mistakes_people_make(dirty_files):
    reasons = set()
    for path in sorted((dirty_files / "manual_returns").iterdir()):
        name, table = table_for_file(MANUAL, path.name)
        frame = read_delivered(path, table)
        checked = contracts.validate(path.name, table, frame)
        reasons.update(f"{name}: {r}" for r in checked.rejects["reason"])
        if name == "kpi_scorecard":
            numbers = frame[["numerator", "denominator"]].apply(pd.to_numeric, errors="coerce")
            if (numbers["numerator"] > numbers["denominator"]).any():
                reasons.add("kpi_scorecard: numerator above denominator")
    assert "kpi_scorecard: missing mandatory field" in reasons  # no submitter
    assert "kpi_scorecard: numerator above denominator" in reasons
    assert any(r.startswith("pap_milestones: unknown code") for r in reasons)  # RAG typed freely
