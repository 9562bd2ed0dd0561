"""Post-16 activity of young people with a plan: education, employment or training, or NEET."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.la_world.dates import D, last_day, reception_year, sept_first
from synthetic.la_world.rows import numbered, world_rows

EET_ACTIVITIES = (
    ["FULL_TIME_EDUCATION", "APPRENTICESHIP", "SUPPORTED_INTERNSHIP", "EMPLOYMENT_WITH_TRAINING", "TRAINING"],
    [0.78, 0.04, 0.06, 0.04, 0.08],
)


def activity_table(rng, pidx, start, cease, dob, person_id, live, end) -> pd.DataFrame:
    """Activity confirmed each autumn from Year 12, and a change mid-year for some."""
    stop = last_day(cease, end)
    reception = reception_year(dob)
    parts = []
    for nc in range(12, 22):
        autumn = sept_first(reception + nc)
        on = (start <= autumn + 30 * D) & (stop > autumn + 30 * D) & (autumn >= live - 365 * D)
        idx = np.flatnonzero(on)
        parts.append(pd.DataFrame({"p": idx, "date": autumn[idx] + rng.integers(0, 76, len(idx)) * D, "nc": nc}))
        change = idx[rng.random(len(idx)) < 0.12]
        later = autumn[change] + rng.integers(100, 301, len(change)) * D
        ok = later < stop[change]
        parts.append(pd.DataFrame({"p": change[ok], "date": later[ok], "nc": nc}))
    rows = pd.concat(parts, ignore_index=True)
    rows = rows[(rows["date"] <= pd.Timestamp(end)) & (rows["date"] >= pd.Timestamp(live.astype(object)))]
    k = len(rows)
    adult = rows["nc"].to_numpy() >= 14
    u = rng.random(k)
    status = np.where(
        u < np.where(adult, 0.82, 0.90), "EET", np.where(u < np.where(adult, 0.92, 0.94), "NEET", "NOT_KNOWN")
    )
    activity = np.where(
        status == "EET",
        rng.choice(EET_ACTIVITIES[0], k, p=EET_ACTIVITIES[1]),
        np.where(status == "NEET", rng.choice(["NEET_AVAILABLE", "NEET_NOT_AVAILABLE"], k, p=[0.6, 0.4]), "NOT_KNOWN"),
    )
    date = rows["date"].to_numpy("datetime64[D]")
    frame = world_rows(
        np.arange(k),
        date,
        rng,
        p16a_person_id=person_id[rows["p"].to_numpy()],
        p16a_activity_date=date,
        p16a_status=status,
        p16a_activity=activity,
    )
    return numbered(frame, "PA", "p16a_activity_id", rng)
