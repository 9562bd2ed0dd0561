"""Quality audits of plans: a rising share of active plans a year, graded, with the loop closed on most
inadequate ones."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from synthetic.calibration import by_year
from synthetic.la_world.dates import D, NaT, day, nc_year, years_of
from synthetic.la_world.draws import count
from synthetic.la_world.rows import id_lookup, numbered, world_rows

AUDIT_RATE = {2022: 0.02, 2023: 0.035, 2024: 0.05, 2025: 0.06, 2026: 0.065}
AUDIT_GRADES = ["OUTSTANDING", "GOOD", "REQUIRES_IMPROVEMENT", "INADEQUATE"]
AUDIT_GRADE_SHARES = {
    2022: [0.02, 0.33, 0.45, 0.20],
    2023: [0.02, 0.35, 0.45, 0.18],
    2024: [0.03, 0.40, 0.42, 0.15],
    2025: [0.04, 0.48, 0.38, 0.10],
    2026: [0.05, 0.55, 0.33, 0.07],
}


def audit_table(rng, pidx, plans, active_id, review_table, reviews, live, end) -> pd.DataFrame:
    """About 5% of active plans audited a year: half new plans, half plans just reviewed."""
    start = plans["start"]
    new_plan = pidx[(plans["kind"][pidx] == "new")]
    parts = []
    review_plan = reviews["plan"].to_numpy()
    review_decision = reviews["decision"].to_numpy("datetime64[D]")
    review_id = id_lookup(review_table, "anre_review_id")
    for year in range(live.astype(object).year, end.astype(object).year + 1):
        y0, y1 = day(dt.date(year, 1, 1)), day(dt.date(year, 12, 31))
        active_mid = ((start[pidx] <= y0 + 182 * D) & ~(plans["cease"][pidx] <= y0 + 182 * D)).sum()
        n = count(rng, by_year(AUDIT_RATE, year) * active_mid)
        fresh = new_plan[(start[new_plan] >= y0) & (start[new_plan] <= y1)]
        pick = rng.choice(fresh, min(n // 2, len(fresh)), replace=False) if len(fresh) else fresh
        parts.append(
            pd.DataFrame({"plan": pick, "review": -1, "date": start[pick] + rng.integers(7, 61, len(pick)) * D})
        )
        done = np.flatnonzero((review_decision >= y0) & (review_decision <= y1))
        pick = rng.choice(done, min(n - len(pick), len(done)), replace=False) if len(done) else done
        after_review = review_decision[pick] + rng.integers(7, 61, len(pick)) * D
        parts.append(pd.DataFrame({"plan": review_plan[pick], "review": pick, "date": after_review}))
    audits = pd.concat(parts, ignore_index=True)
    audits = audits[audits["date"] <= pd.Timestamp(end)].reset_index(drop=True)
    k = len(audits)
    date = audits["date"].to_numpy("datetime64[D]")
    year = years_of(date)
    grade = np.empty(k, dtype=object)
    for y in np.unique(year):
        mask = year == y
        grade[mask] = rng.choice(AUDIT_GRADES, mask.sum(), p=by_year(AUDIT_GRADE_SHARES, int(y)))
    nc = nc_year(plans["dob"][audits["plan"].to_numpy()], date)
    pfa = np.where(nc >= 9, rng.random(k) < np.clip(0.55 + 0.06 * (year - 2022), 0.4, 0.85), None)
    quick = rng.random(k) < np.clip(0.45 + 0.1 * (year - 2023), 0.3, 0.85)
    loop = date + np.where(quick, rng.integers(5, 29, k), 29 + rng.gamma(2.0, 15.0, k).astype(int)) * D
    loop = np.where((grade == "INADEQUATE") & (rng.random(k) < 0.9), loop, NaT)
    is_review = audits["review"].to_numpy() >= 0
    frame = world_rows(
        np.arange(k),
        date,
        rng,
        ehqa_active_ehcp_id=active_id[audits["plan"].to_numpy()],
        ehqa_review_id=np.where(is_review, review_id[np.maximum(audits["review"].to_numpy(), 0)], None),
        ehqa_audit_type=np.where(is_review, "ANNUAL_REVIEW", "NEW_PLAN"),
        ehqa_audit_date=date,
        ehqa_grade=grade,
        ehqa_pfa_clear=pfa,
        ehqa_closing_loop_date=loop,
        _t_closing=loop,
    )
    return numbered(frame, "QA", "ehqa_audit_id", rng)
