"""EHC plans: those in place before the history starts (migrated with SEN2 code H), plans moving in
from other LAs, and plans ceasing so that each January census lands on the published caseload."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from synthetic.calibration import LaTargets, census_date, old_la_codes
from synthetic.la_world.dates import D, NaT, day
from synthetic.la_world.draws import birth_dates, count, sample_ages
from synthetic.la_world.rows import id_lookup, numbered, world_rows

LAST_CENSUS_YEAR = 2025  # last published January census
# Age of children and young people with a plan at the January census (England, January 2025).
STOCK_AGE = dict(
    enumerate([0, 180, 353, 4302, 22517, 30847, 31867, 34082, 36412, 38381, 41405, 46775, 47172, 47359, 47125,
               44886, 42005, 36484, 28598, 20815, 14495, 9805, 6258, 4030, 2221, 371])
)  # fmt: skip
TRANSFER_IN_RATE = 0.015  # plans moving in from other LAs a year, as a share of the caseload
# Relative chance that a plan ceases in a year, by age at the following census.
CEASE_WEIGHT = np.array([0.3] * 5 + [0.35] * 11 + [1.0, 1.6, 2.6, 4.0, 5.0, 5.0, 5.5, 6.0, 6.0, 60.0] + [500.0] * 20)
CEASE_REASONS_YOUNG = (["5", "2", "7", "8", "9"], [0.45, 0.30, 0.10, 0.02, 0.13])
CEASE_REASONS_ADULT = (["1", "2", "3", "4", "5", "6", "7", "9"], [0.04, 0.25, 0.10, 0.10, 0.10, 0.28, 0.03, 0.10])


@dataclass
class PlansFromBefore:
    """Plans not issued here in the history: migrated at go-live, then moved in from other LAs.

    Each carries a historical (H) request and assessment, dated before the plan was issued."""

    n_stock: int  # migrated plans come first
    kind: np.ndarray  # "stock" or "transfer"
    start: np.ndarray
    dob: np.ndarray
    issue: np.ndarray  # when the plan was first issued (by another LA for transfers)
    received: np.ndarray  # the H request
    created: np.ndarray  # when the source first holds the record
    transfer_from: np.ndarray  # old LA code (or XXX) of each transfer


def draw_plans_from_before(rng, targets: LaTargets, years, go_live: dt.date, end) -> PlansFromBefore:
    warm_up = go_live.year
    census0 = day(census_date(warm_up))
    n_stock = count(rng, targets.scaled(targets.plans, warm_up))
    stock_age = sample_ages(rng, STOCK_AGE, n_stock)
    stock_dob = birth_dates(rng, np.full(n_stock, census0), stock_age)
    years_in_place = np.maximum(stock_age - 2, 0) * rng.beta(1.2, 2.0, n_stock)
    stock_start = census0 - (years_in_place * 365.25).astype(np.int64) * D - rng.integers(14, 60, n_stock) * D
    stock_start = np.maximum(stock_start, stock_dob + 400 * D)
    tr_dates = []
    for year in years:
        n = count(rng, TRANSFER_IN_RATE * targets.scaled(targets.plans, year))
        tr_dates.append(day(dt.date(year, 1, 1)) + rng.integers(0, 365, n) * D)
    tr_start = np.sort(np.concatenate(tr_dates))
    tr_start = tr_start[tr_start <= end]
    n_tr = len(tr_start)
    tr_age = sample_ages(rng, STOCK_AGE, n_tr)
    tr_dob = birth_dates(rng, tr_start, tr_age)
    other_las = [c for c in old_la_codes() if c != targets.old_la_code]
    tr_from = np.where(rng.random(n_tr) < 0.03, "XXX", rng.choice(other_las, n_tr))

    h_n = n_stock + n_tr
    h_dob = np.concatenate([stock_dob, tr_dob])
    h_issue = np.concatenate([stock_start, tr_start - rng.integers(200, 1800, n_tr) * D])
    h_issue = np.maximum(h_issue, h_dob + 300 * D)
    return PlansFromBefore(
        n_stock=n_stock,
        kind=np.array(["stock"] * n_stock + ["transfer"] * n_tr),
        start=np.concatenate([stock_start, tr_start]),
        dob=h_dob,
        issue=h_issue,
        received=h_issue - rng.integers(100, 221, h_n) * D,
        created=np.concatenate([np.full(n_stock, day(go_live)), tr_start]),
        transfer_from=tr_from,
    )


def cease_plans(rng, targets: LaTargets, years, start, dob, keep, end):
    """Cease plans each census year so the next January census matches the published caseload."""
    n = len(start)
    cease = np.full(n, NaT)
    reason = np.full(n, None, dtype=object)
    for year in years:
        c0, c1 = day(census_date(year)), day(census_date(year + 1))
        active = keep & (start <= c0) & np.isnat(cease)
        arriving = keep & (start > c0) & (start <= c1)
        n_active = int(active.sum())
        if n_active == 0:
            continue
        if year + 1 <= LAST_CENSUS_YEAR:
            need = int(round(n_active + arriving.sum() - targets.scaled(targets.plans, year + 1)))
        else:  # after the published censuses the caseload follows the flows
            need = int(round(targets.cease_rate * n_active))
        need = min(max(need, int(round(0.02 * n_active))), int(round(0.25 * n_active)))
        idx = np.flatnonzero(active)
        age = ((c1 - dob[idx]) // D / 365.25).astype(np.int64)
        weights = CEASE_WEIGHT[np.clip(age, 0, len(CEASE_WEIGHT) - 1)]
        chosen = rng.choice(idx, min(need, len(idx)), replace=False, p=weights / weights.sum())
        age_c = ((c1 - dob[chosen]) // D / 365.25).astype(np.int64)
        summer = (age_c >= 17) & (rng.random(len(chosen)) < 0.6)
        when = np.where(
            summer,
            day(dt.date(year, 7, 15)) + rng.integers(0, 48, len(chosen)) * D,
            c0 + 1 + np.floor(rng.random(len(chosen)) * ((c1 - c0) // D)).astype(np.int64) * D,
        )
        cease[chosen] = np.maximum(when, start[chosen] + 60 * D)
        young = age_c < 17
        reason[chosen[young]] = rng.choice(CEASE_REASONS_YOUNG[0], young.sum(), p=CEASE_REASONS_YOUNG[1])
        reason[chosen[~young]] = rng.choice(CEASE_REASONS_ADULT[0], (~young).sum(), p=CEASE_REASONS_ADULT[1])
        reason[chosen[age_c >= 25]] = "1"
    late = cease > end
    cease[late], reason[late] = NaT, None
    return cease, reason


def plan_tables(rng, plans: dict, pidx, plan_created, assessment_id, request_id):
    """Named plans and active plans (one each per plan kept); also active plan id by plan index."""
    cease = plans["cease"][pidx]
    cease_seen = cease + rng.integers(0, 31, len(pidx)) * D
    named = world_rows(
        pidx,
        plan_created,
        rng,
        ehcn_ehcp_asmt_id=assessment_id[plans["assessment"][pidx]],
        ehcn_named_plan_start_date=plans["start"][pidx],
        ehcn_named_plan_ceased_date=cease,
        ehcn_named_plan_ceased_reason=plans["reason"][pidx],
        _t_ceased=cease_seen,
    )
    named = numbered(named, "NP", "ehcn_named_plan_id", rng)
    named_id = id_lookup(named, "ehcn_named_plan_id", by="_id", size=len(plans["keep"]))
    active = world_rows(
        pidx,
        plan_created,
        rng,
        ehcp_ehcp_request_id=request_id[plans["request"][pidx]],
        ehcp_active_ehcp_last_review_date=np.full(len(pidx), NaT),
        ehcp_named_plan_id=named_id[pidx],
        ehcp_transfer_la=plans["transfer_la"][pidx],
    )
    active = numbered(active, "AP", "ehcp_active_ehcp_id", rng)
    active_id = id_lookup(active, "ehcp_active_ehcp_id", by="_id", size=len(plans["keep"]))
    return named, active, active_id
