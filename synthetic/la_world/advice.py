"""Advice for new assessments (educational psychology, health, social care) and the EP allocations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.calibration import by_year
from synthetic.la_world.dates import D, NaT, years_of
from synthetic.la_world.rows import numbered, world_rows

ADVICE_ON_TIME = {  # advice returned within 6 weeks, by type and year requested
    "EP": {2022: 0.75, 2023: 0.55, 2024: 0.22, 2025: 0.30, 2026: 0.45, 2027: 0.55},
    "HEALTH": {2022: 0.70, 2023: 0.62, 2024: 0.50, 2025: 0.55, 2026: 0.60},
    "SOCIAL_CARE": {2022: 0.80, 2023: 0.75, 2024: 0.65, 2025: 0.70, 2026: 0.75},
}
EP_TEAMS = {  # EP locality team by postcode area
    "PR": "CENTRAL",
    "L3": "CENTRAL",
    "L4": "CENTRAL",
    "WN": "CENTRAL",
    "BB": "EAST",
    "LA": "NORTH",
    "FY": "NORTH",
}


def advice_tables(rng, assessments, assessment_id, postcode_by_person, request_person, end):
    """Advice rows and EP allocations; advice never arrives after the plan it fed was issued."""
    new = np.flatnonzero(assessments["new"])
    created = assessments["created"][new]
    outcome, outcome_at = assessments["outcome"][new], assessments["outcome_at"][new]
    rows = []
    for kind in ("EP", "HEALTH", "SOCIAL_CARE"):
        k = len(new)
        requested = created + rng.integers(0, 8, k) * D
        year = years_of(requested)
        p = np.array([by_year(ADVICE_ON_TIME[kind], int(y)) for y in year]) if k else np.array([])
        slow_scale = 35.0 if kind == "EP" else 20.0
        late_days = 43 + rng.gamma(2.0, slow_scale, k).astype(int)
        received = requested + np.where(rng.random(k) < p, rng.integers(10, 43, k), late_days) * D
        issued = outcome == "Y"
        cap = np.maximum(outcome_at - 7 * D, requested + 5 * D)
        received = np.where(issued & ~np.isnat(outcome_at) & (received > cap), cap, received)
        received = np.where((outcome == "W") & ~(received < outcome_at), NaT, received)
        rows.append(pd.DataFrame({"a": new, "kind": kind, "requested": requested, "received": received}))
    advice = pd.concat(rows, ignore_index=True)
    table = world_rows(
        np.arange(len(advice)),
        advice["requested"].to_numpy("datetime64[D]"),
        rng,
        ehad_ehcp_assessment_id=assessment_id[advice["a"].to_numpy()],
        ehad_advice_type=advice["kind"].to_numpy(),
        ehad_requested_date=advice["requested"].to_numpy("datetime64[D]"),
        ehad_received_date=advice["received"].to_numpy("datetime64[D]"),
        _t_received=advice["received"].to_numpy("datetime64[D]"),
    )
    table = numbered(table, "AD", "ehad_advice_id", rng)

    ep = table[table["ehad_advice_type"] == "EP"]
    k = len(ep)
    requested = ep["ehad_requested_date"].to_numpy("datetime64[D]")
    received = ep["ehad_received_date"].to_numpy("datetime64[D]")
    wait = np.minimum(np.where(np.isnat(received), 60 * D, received - requested) // D, 21)
    allocated = requested + np.floor(rng.random(k) * (np.maximum(wait, 0) + 1)).astype(np.int64) * D
    year = years_of(allocated)
    employment = np.where(
        rng.random(k) < np.where(year >= 2024, 0.65, 0.85),
        "LA",
        np.where(rng.random(k) < 0.6, "LOCUM", "ASSOCIATE"),
    )
    # EP team from the child's postcode district (locality teams).
    a_pos = table.loc[ep.index, "_pos"].to_numpy()
    a_index = advice["a"].to_numpy()[a_pos]
    child = request_person[assessments["request"][a_index]]
    district = np.asarray(postcode_by_person, dtype=object)[child]
    team = np.array([EP_TEAMS.get(str(d)[:2], "EP TEAM") for d in district], dtype=object)
    alloc = world_rows(
        np.arange(k),
        allocated,
        rng,
        epal_advice_id=ep["ehad_advice_id"].to_numpy(),
        epal_allocated_date=allocated,
        epal_team=team,
        epal_employment_type=employment,
    )
    alloc = alloc[alloc["_created"] <= pd.Timestamp(end)]
    return table, numbered(alloc, "EA", "epal_allocation_id", rng)
