"""Annual reviews: due 12 months after issue or the previous meeting, most held by then; the review
before a phase transfer carries its deadline, and plans ceased for some reasons end at a review."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.calibration import LaTargets
from synthetic.la_world.dates import D, NaT, last_day, nc_year, on, years_of
from synthetic.la_world.rows import numbered, world_rows

REVIEW_CEASE_REASONS = ["2", "3", "4", "6", "9"]
CEASED_AT_REVIEW = 1.0  # of plans ceased for those reasons, the share ended by a review's cease decision


def draw_reviews(rng, targets: LaTargets, start, cease, dob, keep, go_live, end) -> pd.DataFrame:
    """Reviews of every plan from go-live: due date, meeting, decision, outcome (A / M), PfA and phase transfer."""
    stop = last_day(cease, end)
    anchor = start.copy()
    alive = keep.copy()
    parts = []
    a_share = targets.review_outcomes["A"] / (targets.review_outcomes["A"] + targets.review_outcomes["M"])
    for _ in range(40):
        due = anchor + 365 * D
        alive &= due <= stop
        idx = np.flatnonzero(alive)
        if not len(idx):
            break
        k = len(idx)
        late = rng.random(k) > targets.review_held
        meeting = np.where(
            late, due[idx] + 1 + rng.gamma(1.5, 45.0, k).astype(int) * D, due[idx] - rng.integers(0, 57, k) * D
        )
        meeting = np.maximum(meeting, anchor[idx] + 120 * D)
        fits = meeting <= stop[idx]
        year = years_of(meeting)
        in_4 = rng.random(k) < np.clip(targets.review_decision_4wk + 0.03 * (year - 2024), 0.15, 0.85)
        decision = meeting + np.where(in_4, rng.integers(3, 29, k), 29 + rng.gamma(2.0, 18.0, k).astype(int)) * D
        parts.append(
            pd.DataFrame(
                {
                    "plan": idx[fits],
                    "due": due[idx][fits],
                    "meeting": meeting[fits],
                    "decision": decision[fits],
                    "outcome": np.where(rng.random(k) < a_share, "A", "M")[fits],
                }
            )
        )
        anchor[idx] = np.where(fits, meeting, due[idx])
        alive[idx[~fits]] = False
    reviews = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["plan", "due", "meeting", "decision", "outcome"])
    )
    reviews = reviews[reviews["meeting"] >= pd.Timestamp(go_live)].reset_index(drop=True)
    reviews["plan"] = reviews["plan"].astype(np.int64)
    meeting = reviews["meeting"].to_numpy("datetime64[D]")
    plan_dob = dob[reviews["plan"].to_numpy()]
    nc = nc_year(plan_dob, meeting)
    year = years_of(meeting)
    pfa_p = np.clip(0.72 + 0.04 * (year - 2022), 0.6, 0.9)
    reviews["pfa"] = np.where(nc >= 9, rng.random(len(reviews)) < pfa_p, None)
    # Phase transfer: the review before a move to Reception, Year 7 or post-16 carries the deadline.
    transfer_year = np.where(pd.DatetimeIndex(meeting).month >= 9, year + 1, year)
    moving = np.isin(nc, [-1, 6, 11])
    due_pt = np.where(nc == 11, on(transfer_year, 3, 31), on(transfer_year, 2, 15))
    moving &= meeting <= due_pt
    first = ~pd.DataFrame({"p": reviews["plan"], "y": transfer_year, "m": moving}).duplicated(["p", "y", "m"])
    moving &= first.to_numpy()
    on_time = rng.random(len(reviews)) < np.clip(0.55 + 0.05 * (year - 2023), 0.35, 0.85)
    final = np.where(
        on_time,
        np.maximum(due_pt - rng.integers(0, 46, len(reviews)) * D, meeting + 14 * D),
        due_pt + 1 + rng.gamma(2.0, 15.0, len(reviews)).astype(int) * D,
    )
    reviews["pt_due"] = np.where(moving, due_pt, NaT)
    reviews["pt_final"] = np.where(moving, final, NaT)
    return reviews


def mark_cease_reviews(rng, reviews: pd.DataFrame, cease: np.ndarray, reason: np.ndarray) -> pd.DataFrame:
    """A plan ceased because needs are met (or the young person moved on) was ceased at a review."""
    plan = reviews["plan"].to_numpy()
    fits = np.isin(reason[plan], REVIEW_CEASE_REASONS) & (reviews["decision"].to_numpy("datetime64[D]") <= cease[plan])
    fits &= cease[plan] - reviews["decision"].to_numpy("datetime64[D]") <= 180 * D
    last = reviews[fits].groupby("plan")["meeting"].idxmax()
    last = last[rng.random(len(last)) < CEASED_AT_REVIEW]
    reviews.loc[last.to_numpy(), "outcome"] = "C"
    return reviews


def review_table(rng, reviews: pd.DataFrame, active_id: np.ndarray) -> pd.DataFrame:
    plan = reviews["plan"].to_numpy()
    meeting = reviews["meeting"].to_numpy("datetime64[D]")
    frame = world_rows(
        np.arange(len(reviews)),
        meeting,
        rng,
        anre_active_ehcp_id=active_id[plan],
        anre_review_due_date=reviews["due"].to_numpy("datetime64[D]"),
        anre_meeting_date=meeting,
        anre_decision_date=reviews["decision"].to_numpy("datetime64[D]"),
        anre_outcome=reviews["outcome"].to_numpy(),
        anre_pfa_covered=reviews["pfa"].to_numpy(),
        anre_phase_transfer_due_date=reviews["pt_due"].to_numpy("datetime64[D]"),
        anre_phase_transfer_final_date=reviews["pt_final"].to_numpy("datetime64[D]"),
        _t_decision=reviews["decision"].to_numpy("datetime64[D]"),
        _t_pt_final=reviews["pt_final"].to_numpy("datetime64[D]"),
    )
    return numbered(frame, "AR", "anre_review_id", rng)
