"""EHC needs assessments: agreed requests queue for a limited monthly capacity to finalise plans.

Part of the capacity goes to cases still inside the 20-week limit (the published on-time share), the
rest to the oldest waiting.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from synthetic.calibration import LaTargets
from synthetic.la_world.dates import D, NaT, day, years_of
from synthetic.la_world.draws import between
from synthetic.la_world.rows import id_lookup, numbered, world_rows

LAST_PUBLISHED_YEAR = 2024  # last calendar year of published flows
LATE_PRIORITY_DAYS = 150  # spread of the order late cases are finalised in
EXCEPTION_REASONS = (
    ["SETTING_CLOSED", "PERSONAL_CIRCUMSTANCES", "ABSENT_FROM_AREA", "MISSED_APPOINTMENT"],
    [0.15, 0.45, 0.15, 0.25],
)


def draw_assessments(rng, targets: LaTargets, years, received, outcome, decided_at, end):
    """For requests agreed (Y): the request index, start, exception flag, outcome (Y / N / W) and its date."""
    agreed = np.flatnonzero(outcome == "Y")
    m = len(agreed)
    a_start = decided_at[agreed]
    a_received = received[agreed]
    exception = rng.random(m) < targets.exception_share
    ready = a_start + (rng.integers(56, 99, m) + exception * rng.integers(28, 85, m)) * D
    # Some cases cannot be finalised in time whatever the capacity (late advice, disagreement):
    # about as many as the year's published late share, so spare capacity does not make them on time.
    slow_share = np.array([np.clip(1 - targets.on_time[int(y)], 0.02, 0.5) for y in years_of(a_received + 120 * D)])
    slow = rng.random(m) < slow_share
    ready = np.where(slow, np.maximum(ready, a_received + (141 + rng.gamma(1.5, 25.0, m).astype(int)) * D), ready)
    fate = rng.choice(["issue", "N", "W"], m, p=[1 - targets.not_issued_share - 0.004, targets.not_issued_share, 0.004])
    a_outcome_at = np.full(m, NaT)
    not_issued = fate == "N"
    a_outcome_at[not_issued] = ready[not_issued] + rng.integers(0, 15, not_issued.sum()) * D
    gone = fate == "W"
    a_outcome_at[gone] = a_start[gone] + rng.integers(14, 101, gone.sum()) * D
    issued_at = _finalise_plans(rng, targets, years, a_received, ready, exception, fate == "issue", end)
    a_outcome_at = np.where(fate == "issue", issued_at, a_outcome_at)
    a_outcome = np.where(fate == "issue", "Y", fate)
    return agreed, a_start, exception, a_outcome, a_outcome_at


def _finalise_plans(rng, targets, years, a_received, ready, exception, to_issue, end) -> np.ndarray:
    """Month by month, spend the LA's capacity: first on cases still inside 20 weeks (the year's
    on-time share of it), then on the longest waiting."""
    issued_at = np.full(len(ready), NaT)
    deadline = a_received + 140 * D
    ready_year = years_of(ready)
    capacity = {}
    for year in years:
        published = targets.scaled(targets.issued, year)
        if year <= LAST_PUBLISHED_YEAR:
            capacity[year] = published
        else:  # recovery: finalise a little more than arrives, clearing the backlog over years
            demand = float((to_issue & (ready_year == year)).sum())
            capacity[year] = max(published, 1.1 * demand)
    carry = 0.0
    waiting = to_issue.copy()
    for year in years:
        on_time_share = targets.on_time[year]
        for month in range(1, 13):
            month_start = day(dt.date(year, month, 1))
            if month_start > end:
                return issued_at
            month_end = min(day((pd.Timestamp(year, month, 1) + pd.offsets.MonthEnd(0)).date()), end)
            slots_f = capacity[year] / 12 + carry
            slots = int(slots_f)
            carry = slots_f - slots
            candidates = np.flatnonzero(waiting & (ready <= month_end))
            if slots == 0 or len(candidates) == 0:
                continue
            earliest = np.maximum(ready[candidates], month_start)
            in_time = (deadline[candidates] >= earliest) & ~exception[candidates]
            n_on = min(int(round(on_time_share * slots)), int(in_time.sum()))
            chosen_on = candidates[in_time][np.argsort(deadline[candidates][in_time], kind="stable")[:n_on]]
            last_day = np.minimum(deadline[chosen_on], month_end)
            issued_at[chosen_on] = between(rng, np.maximum(ready[chosen_on], month_start), last_day)
            waiting[chosen_on] = False
            rest = candidates[waiting[candidates]]
            # Longest waiting first, loosely: complex cases slip behind and wait far longer.
            priority = (a_received[rest] - a_received.min()) // D + rng.exponential(LATE_PRIORITY_DAYS, len(rest))
            rest = rest[np.argsort(priority, kind="stable")[: slots - n_on]]
            issued_at[rest] = between(rng, np.maximum(ready[rest], month_start), np.full(len(rest), month_end))
            waiting[rest] = False
    return issued_at


def assessment_tables(rng, assessments: dict, request_id: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The assessments table and the exceptions recorded against some of them."""
    a_outcome = assessments["outcome"]
    a_date = np.where(np.isin(a_outcome, ["Y", "N", "H"]), assessments["outcome_date"], NaT)
    asmt = world_rows(
        np.arange(len(a_outcome)),
        assessments["created"],
        rng,
        ehca_ehcp_request_id=request_id[assessments["request"]],
        ehca_ehcp_assessment_outcome_date=a_date,
        ehca_ehcp_assessment_outcome=a_outcome,
        ehca_ehcp_assessment_exceptions=np.where(assessments["exception"], "1", "0"),
        _t_outcome=assessments["outcome_at"],
    )
    asmt = numbered(asmt, "A", "ehca_ehcp_assessment_id", rng)
    assessment_id = id_lookup(asmt, "ehca_ehcp_assessment_id")

    exc = np.flatnonzero(assessments["exception"])
    recorded = assessments["created"][exc] + rng.integers(20, 81, len(exc)) * D
    exceptions = world_rows(
        exc,
        recorded,
        rng,
        asex_ehcp_assessment_id=assessment_id[exc],
        asex_reason=rng.choice(EXCEPTION_REASONS[0], len(exc), p=EXCEPTION_REASONS[1]),
        asex_recorded_date=recorded,
    )
    return asmt, numbered(exceptions, "EX", "asex_exception_id", rng)
