"""Requests for an EHC needs assessment: arrivals month by month and the decision to assess."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from synthetic.calibration import LaTargets
from synthetic.la_world.dates import D, NaT, day, years_of
from synthetic.la_world.draws import count
from synthetic.la_world.rows import numbered, world_rows

MONTH_WEIGHT = np.array([1.0, 1.05, 1.1, 0.9, 1.1, 1.1, 1.05, 0.6, 0.85, 1.1, 1.2, 0.85])


def draw_requests(
    rng: np.random.Generator, targets: LaTargets, years: list[int], end: np.datetime64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Received dates (sorted), outcomes (Y / N / W) and decision dates."""
    received = []
    for year in years:
        n = count(rng, targets.scaled(targets.requests, year))
        weights = np.repeat(MONTH_WEIGHT, [pd.Timestamp(year, m, 1).days_in_month for m in range(1, 13)])
        day_of_year = rng.choice(len(weights), n, p=weights / weights.sum())
        received.append(day(dt.date(year, 1, 1)) + day_of_year * D)
    received = np.sort(np.concatenate(received)) if received else np.array([], dtype="datetime64[D]")
    received = received[received <= end]
    n_req = len(received)
    req_year = years_of(received)
    outcome = np.empty(n_req, dtype=object)
    for year in np.unique(req_year):
        mask = req_year == year
        shares = targets.decisions(int(year))
        outcome[mask] = rng.choice(list(shares), mask.sum(), p=list(shares.values()))
    in_6_weeks = rng.random(n_req) < targets.decided_in_6_weeks
    decision_days = np.where(in_6_weeks, rng.integers(14, 43, n_req), 43 + rng.gamma(2.0, 12.0, n_req).astype(int))
    withdrawn_days = rng.integers(7, 57, n_req)
    decided_at = received + np.where(outcome == "W", withdrawn_days, decision_days) * D
    return received, outcome, decided_at


def request_table(rng: np.random.Generator, requests: dict, send_id: np.ndarray) -> pd.DataFrame:
    outcome = requests["outcome"]
    decided = np.isin(outcome, ["Y", "N"])
    req = world_rows(
        np.arange(len(outcome)),
        requests["created"],
        rng,
        ehcr_send_table_id=send_id[requests["person"]],
        ehcr_ehcp_req_date=requests["received"],
        ehcr_ehcp_req_outcome_date=np.where(decided, requests["decided_at"], NaT),
        ehcr_ehcp_req_outcome=outcome,
        _t_decided=requests["decided_at"],
    )
    return numbered(req, "R", "ehcr_ehcp_request_id", rng)
