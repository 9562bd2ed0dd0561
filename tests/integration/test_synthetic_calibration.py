"""The lancashire scale's yearly aggregates land near Lancashire's published DfE figures.

Both sides are computed here, independently of the platform's dbt models and of the generator's
own calibration table: the expected values straight from the DfE CSV files (../shared/reference/
dfe_ehcp_2025/), the synthetic ones from the generated tables with the DfE definitions.
Tolerances (stated in docs/synthetic_data.md): counts the generator steers to (requests, January
caseload, plans issued in 2024) within 3-5%; 2023's plans issued within 15% (Lancashire issued
more plans in 2023 than its 2022-23 requests can produce in the simulation's queue); shares
within a few percentage points.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from synthetic.calibration import census_date
from synthetic.la_case_management import SCALES, build_frames

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "dfe_ehcp_2025"
LANCASHIRE = "E10000017"
NEEDS = ["ASD", "HI", "MLD", "MSI", "OTH", "PD", "PMLD", "SEMH", "SLCN", "SLD", "SPLD", "VI"]

pytestmark = pytest.mark.skipif(not REFERENCE.exists(), reason=f"DfE reference files not at {REFERENCE}")


def _published(name: str, topic: str) -> pd.DataFrame:
    frame = pd.read_csv(REFERENCE / f"{name}.csv", encoding="utf-8-sig", dtype=str)
    frame = frame[(frame["new_la_code"] == LANCASHIRE) & (frame["breakdown_topic"] == topic)]
    return frame.set_index("time_period")


@pytest.fixture(scope="module")
def published() -> dict[str, float]:
    caseload = _published("caseload", "All EHC plans")
    needs = _published("sen_needs_all_plans", "All EHC plans").loc["202425"]
    requests = _published("requests", "All requests for EHC needs assessments")
    timeliness = _published("timeliness_20_week", "All EHC plans issued")
    reviews = _published("annual_reviews", "All annual reviews").loc["2024"]
    out = {
        "plans_jan_2025": float(caseload.loc["202425", "ehcplans"]),
        "plans_jan_2024": float(caseload.loc["202324", "ehcplans"]),
        "requests_2023": float(requests.loc["2023", "requests_received_in_year"]),
        "requests_2024": float(requests.loc["2024", "requests_received_in_year"]),
        "assess_share_2024": float(requests.loc["2024", "request_assess_pc"]),
        "decided_6wk_2024": float(requests.loc["2024", "request_outcome_six_weeks_pc"]),
        "issued_2023": float(timeliness.loc["2023", "plans_issued_den"]),
        "issued_2024": float(timeliness.loc["2024", "plans_issued_den"]),
        "on_time_2023": float(timeliness.loc["2023", "pc_plans_issued_within_20_weeks"]),
        "on_time_2024": float(timeliness.loc["2024", "pc_plans_issued_within_20_weeks"]),
        "review_4wk_2024": float(
            reviews["pc_decsion_4weeks"].iloc[0] if isinstance(reviews, pd.DataFrame) else reviews["pc_decsion_4weeks"]
        ),  # fmt: skip
    }
    outcomes = {k: float(reviews[f"outcome_{k}"]) for k in ("amend", "cease", "maintan")}
    total = sum(outcomes.values())
    out.update({f"review_{k}_pc": 100 * v / total for k, v in outcomes.items()})
    plans = float(needs["ehc_plans"])
    out.update({f"need_{c}": 100 * float(needs[f"number_{c.lower()}"]) / plans for c in NEEDS})
    return out


@pytest.fixture(scope="module")
def synthetic() -> dict[str, float]:
    frames = build_frames(SCALES["lancashire"], seed=42, as_of=dt.date(2025, 6, 30))
    req = frames["ssd_ehcp_requests"].copy()
    req["received"] = pd.to_datetime(req["ehcr_ehcp_req_date"])
    new_requests = req[req["ehcr_ehcp_req_outcome"] != "H"]  # H: decided before the history (migrated)
    out = {}
    for year in (2023, 2024):
        out[f"requests_{year}"] = float((new_requests["received"].dt.year == year).sum())
    in_2024 = new_requests[new_requests["received"].dt.year == 2024]
    out["assess_share_2024"] = 100 * (in_2024["ehcr_ehcp_req_outcome"] == "Y").mean()
    decided = in_2024.dropna(subset=["ehcr_ehcp_req_outcome_date"])
    days = (pd.to_datetime(decided["ehcr_ehcp_req_outcome_date"]) - decided["received"]).dt.days
    out["decided_6wk_2024"] = 100 * (days <= 42).mean()

    asmt = frames["ssd_ehcp_assessment"]
    issued = asmt[asmt["ehca_ehcp_assessment_outcome"] == "Y"].merge(
        req, left_on="ehca_ehcp_request_id", right_on="ehcr_ehcp_request_id"
    )
    issue_date = pd.to_datetime(issued["ehca_ehcp_assessment_outcome_date"])
    weeks_ok = (issue_date - issued["received"]).dt.days <= 140
    for year in (2023, 2024):
        in_year = issue_date.dt.year == year
        out[f"issued_{year}"] = float(in_year.sum())
        out[f"on_time_{year}"] = 100 * weeks_ok[in_year].mean()

    plans = frames["ssd_ehcp_named_plan"]
    start = pd.to_datetime(plans["ehcn_named_plan_start_date"])
    ceased = pd.to_datetime(plans["ehcn_named_plan_ceased_date"])
    for year in (2024, 2025):
        census = pd.Timestamp(census_date(year))
        out[f"plans_jan_{year}"] = float(((start <= census) & ~(ceased <= census)).sum())
    census = pd.Timestamp(census_date(2025))
    active_plans = plans.loc[(start <= census) & ~(ceased <= census), "ehcn_named_plan_id"]
    active = frames["ssd_ehcp_active_plans"]
    active_ids = active.loc[active["ehcp_named_plan_id"].isin(active_plans), "ehcp_active_ehcp_id"]
    needs = frames["ssd_sen_need"]
    primary = needs[(needs["senn_active_ehcp_need_rank"] == "1") & needs["senn_active_ehcp_id"].isin(active_ids)]
    shares = primary["senn_active_ehcp_need_type"].value_counts(normalize=True) * 100
    out.update({f"need_{c}": float(shares.get(c, 0.0)) for c in NEEDS})

    reviews = frames["send_annual_reviews"]
    decided_2024 = reviews[pd.to_datetime(reviews["anre_decision_date"]).dt.year == 2024]
    gap = (
        pd.to_datetime(decided_2024["anre_decision_date"]) - pd.to_datetime(decided_2024["anre_meeting_date"])
    ).dt.days
    out["review_4wk_2024"] = 100 * (gap <= 28).mean()
    outcome = decided_2024["anre_outcome"].value_counts(normalize=True) * 100
    out.update({"review_amend_pc": outcome.get("A", 0.0), "review_cease_pc": outcome.get("C", 0.0),
                "review_maintan_pc": outcome.get("M", 0.0)})  # fmt: skip
    return out


RELATIVE = {  # measure: largest relative difference allowed
    "plans_jan_2025": 0.03,
    "plans_jan_2024": 0.05,
    "requests_2023": 0.03,
    "requests_2024": 0.03,
    "issued_2024": 0.05,
    "issued_2023": 0.15,
}
POINTS = {  # measure: largest difference in percentage points
    "on_time_2023": 6.0,
    "on_time_2024": 4.0,
    "assess_share_2024": 3.0,
    "decided_6wk_2024": 3.0,
    "review_4wk_2024": 5.0,
    "review_amend_pc": 5.0,
    "review_maintan_pc": 5.0,
    "review_cease_pc": 1.5,
    **{f"need_{c}": 1.5 for c in NEEDS},
}


@pytest.mark.parametrize("measure", sorted(RELATIVE))
def test_counts_land_near_published(measure, published, synthetic):
    assert synthetic[measure] == pytest.approx(published[measure], rel=RELATIVE[measure])


@pytest.mark.parametrize("measure", sorted(POINTS))
def test_shares_land_near_published(measure, published, synthetic):
    assert synthetic[measure] == pytest.approx(published[measure], abs=POINTS[measure])


def test_timeliness_falls_from_2023_to_2024_as_published(synthetic):
    assert synthetic["on_time_2023"] - synthetic["on_time_2024"] > 50
