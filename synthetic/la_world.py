"""The history of one LA's SEND service, simulated from its published DfE figures.

Requests arrive month by month; decisions to assess follow within weeks; agreed assessments queue
for a limited monthly capacity to finalise plans (the LA's published plans issued per year), part of
which goes to cases still inside the 20-week limit (the published on-time share) and the rest to
the oldest waiting. Plans in place before the history starts are migrated with SEN2 code H, plans
move in from other LAs, and plans cease so that each January census lands on the published
caseload. Reviews, advice, EP allocations, placements, needs, audits and post-16 activity hang off
that. Every row carries the dates it enters and changes the source (see synthetic.timeline).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthetic import people
from synthetic.calibration import NEED_CODES, LaTargets, census_date

D = np.timedelta64(1, "D")
NaT = np.datetime64("NaT", "D")
LAST_PUBLISHED_YEAR = 2024  # last calendar year of published flows
LAST_CENSUS_YEAR = 2025  # last published January census

# Age of children and young people with a plan at the January census (England, January 2025).
STOCK_AGE = dict(
    enumerate([0, 180, 353, 4302, 22517, 30847, 31867, 34082, 36412, 38381, 41405, 46775, 47172, 47359, 47125,
               44886, 42005, 36484, 28598, 20815, 14495, 9805, 6258, 4030, 2221, 371])
)  # fmt: skip
# Age when a plan is first issued (Lancashire, plans issued in 2024).
ISSUE_AGE = {2: 14, 3: 371, 4: 223, 5: 103, 6: 123, 7: 102, 8: 100, 9: 118, 10: 146, 11: 76, 12: 80, 13: 97,
             14: 80, 15: 51, 16: 25, 17: 7, 18: 2, 20: 1}  # fmt: skip
MONTH_WEIGHT = np.array([1.0, 1.05, 1.1, 0.9, 1.1, 1.1, 1.05, 0.6, 0.85, 1.1, 1.2, 0.85])
# Relative chance that a plan ceases in a year, by age at the following census.
CEASE_WEIGHT = np.array([0.3] * 5 + [0.35] * 11 + [1.0, 1.6, 2.6, 4.0, 5.0, 5.0, 5.5, 6.0, 6.0, 60.0] + [500.0] * 20)
LATE_PRIORITY_DAYS = 150  # spread of the order late cases are finalised in
TRANSFER_IN_RATE = 0.015  # plans moving in from other LAs a year, as a share of the caseload
REREQUEST_SHARE = 0.04  # new requests made for a child refused or withdrawn before
DISTRICTS = {
    "E10000017": ["PR1", "PR2", "PR3", "PR4", "PR7", "PR25", "BB4", "BB5", "BB7", "BB9", "BB10", "LA1", "LA3",
                  "LA4", "FY5", "FY6", "FY8", "L39", "L40", "WN8"],
    "E06000009": ["FY1", "FY2", "FY3", "FY4"],
    "E06000008": ["BB1", "BB2", "BB3"],
    "E06000064": ["LA8", "LA9", "LA12", "LA13", "LA14", "CA10", "CA11"],
}  # fmt: skip
EP_TEAMS = {
    "PR": "CENTRAL",
    "L3": "CENTRAL",
    "L4": "CENTRAL",
    "WN": "CENTRAL",
    "BB": "EAST",
    "LA": "NORTH",
    "FY": "NORTH",
}
CEASE_REASONS_YOUNG = (["5", "2", "7", "8", "9"], [0.45, 0.30, 0.10, 0.02, 0.13])
CEASE_REASONS_ADULT = (["1", "2", "3", "4", "5", "6", "7", "9"], [0.04, 0.25, 0.10, 0.10, 0.10, 0.28, 0.03, 0.10])
REVIEW_CEASE_REASONS = ["2", "3", "4", "6", "9"]
CEASED_AT_REVIEW = 1.0  # of plans ceased for those reasons, the share ended by a review's cease decision


def _by_year(table: dict[int, float], year: int) -> float:
    """The value for the latest year listed at or before `year` (the first one before the table starts)."""
    earlier = [k for k in table if k <= year]
    return table[max(earlier)] if earlier else table[min(table)]


ADVICE_ON_TIME = {  # advice returned within 6 weeks, by type and year requested
    "EP": {2022: 0.75, 2023: 0.55, 2024: 0.22, 2025: 0.30, 2026: 0.45, 2027: 0.55},
    "HEALTH": {2022: 0.70, 2023: 0.62, 2024: 0.50, 2025: 0.55, 2026: 0.60},
    "SOCIAL_CARE": {2022: 0.80, 2023: 0.75, 2024: 0.65, 2025: 0.70, 2026: 0.75},
}
AUDIT_RATE = {2022: 0.02, 2023: 0.035, 2024: 0.05, 2025: 0.06, 2026: 0.065}
AUDIT_GRADES = ["OUTSTANDING", "GOOD", "REQUIRES_IMPROVEMENT", "INADEQUATE"]
AUDIT_GRADE_SHARES = {
    2022: [0.02, 0.33, 0.45, 0.20],
    2023: [0.02, 0.35, 0.45, 0.18],
    2024: [0.03, 0.40, 0.42, 0.15],
    2025: [0.04, 0.48, 0.38, 0.10],
    2026: [0.05, 0.55, 0.33, 0.07],
}
EET_ACTIVITIES = (
    ["FULL_TIME_EDUCATION", "APPRENTICESHIP", "SUPPORTED_INTERNSHIP", "EMPLOYMENT_WITH_TRAINING", "TRAINING"],
    [0.78, 0.04, 0.06, 0.04, 0.08],
)


@dataclass
class LaWorld:
    targets: LaTargets
    go_live: dt.date  # first day of the source's history
    horizon: dt.date  # last day simulated
    tables: dict[str, pd.DataFrame]  # world tables (see synthetic.timeline)
    people: pd.DataFrame  # one row per person, for the health feeds to link to


# ---------------------------------------------------------------------------------------------
# Small helpers


def _day(value: dt.date) -> np.datetime64:
    return np.datetime64(value, "D")


def _between(rng: np.random.Generator, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """A day uniformly between two date arrays (inclusive); start where end < start."""
    span = np.maximum((end - start) // D, 0)
    return start + np.floor(rng.random(len(start)) * (span + 1)).astype(np.int64) * D


def _count(rng: np.random.Generator, expected: float) -> int:
    """Round with the fractional part as a probability, so small scales keep their mean."""
    whole = int(np.floor(expected))
    return whole + int(rng.random() < expected - whole)


def _sample_ages(rng: np.random.Generator, table: dict[int, float], n: int) -> np.ndarray:
    ages = np.array(list(table), dtype=np.int64)
    weights = np.array(list(table.values()), dtype=float)
    return rng.choice(ages, n, p=weights / weights.sum())


def _dob(rng: np.random.Generator, at: np.ndarray, age_years: np.ndarray) -> np.ndarray:
    """Date of birth making someone `age_years` old (completed years) on `at`."""
    days_old = (age_years * 365.25).astype(np.int64) + rng.integers(0, 365, len(at))
    return at - days_old * D


def reception_year(dob: np.ndarray) -> np.ndarray:
    """Calendar year a child born on `dob` starts Reception (age 4 on 31 August)."""
    dob = pd.DatetimeIndex(dob)
    return np.where(dob.month >= 9, dob.year + 5, dob.year + 4).astype(np.int64)


def nc_year(dob: np.ndarray, when: np.ndarray) -> np.ndarray:
    """National curriculum year on a date (Reception 0, Year 1 = 1, ...; negative before school)."""
    when = pd.DatetimeIndex(when)
    academic = np.where(when.month >= 9, when.year, when.year - 1)
    return academic - reception_year(dob)


def _sept_first(years: np.ndarray) -> np.ndarray:
    return (np.asarray(years, dtype=np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[D]") + 243 * D


def _on(years: np.ndarray, month: int, day: int) -> np.ndarray:
    base = (np.asarray(years, dtype=np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[M]")
    return (base + (month - 1)).astype("datetime64[D]") + (day - 1) * D


def _years_of(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[Y]").astype(np.int64) + 1970


def _ids(prefix: str, n: int) -> np.ndarray:
    return np.char.add(prefix, (1_000_000 + np.arange(n)).astype(str))


def _order(created: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row order by creation date (ties broken at random), so ids rise with time like a sequence."""
    return np.lexsort((rng.random(len(created)), created))


# ---------------------------------------------------------------------------------------------
# The simulation


def simulate(targets: LaTargets, seed: int, first_year: int, horizon: dt.date, nhs_offset: int = 0) -> LaWorld:
    la = int(targets.old_la_code)

    def rng_for(part: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([seed, la, part]))

    rng = rng_for(1)
    warm_up = first_year - 1  # the queue runs a year before the history the dashboard reads
    go_live = dt.date(warm_up, 1, 1)
    years = list(range(warm_up, horizon.year + 1))
    end = _day(horizon)

    # Requests and the decision to assess.
    received = []
    for year in years:
        n = _count(rng, targets.scaled(targets.requests, year))
        weights = np.repeat(MONTH_WEIGHT, [pd.Timestamp(year, m, 1).days_in_month for m in range(1, 13)])
        day_of_year = rng.choice(len(weights), n, p=weights / weights.sum())
        received.append(_day(dt.date(year, 1, 1)) + day_of_year * D)
    received = np.sort(np.concatenate(received)) if received else np.array([], dtype="datetime64[D]")
    received = received[received <= end]
    n_req = len(received)
    req_year = _years_of(received)
    outcome = np.empty(n_req, dtype=object)
    for year in np.unique(req_year):
        mask = req_year == year
        shares = targets.decisions(int(year))
        outcome[mask] = rng.choice(list(shares), mask.sum(), p=list(shares.values()))
    in_6_weeks = rng.random(n_req) < targets.decided_in_6_weeks
    decision_days = np.where(in_6_weeks, rng.integers(14, 43, n_req), 43 + rng.gamma(2.0, 12.0, n_req).astype(int))
    withdrawn_days = rng.integers(7, 57, n_req)
    decided_at = received + np.where(outcome == "W", withdrawn_days, decision_days) * D

    # Assessments and the queue for finalising plans.
    agreed = np.flatnonzero(outcome == "Y")
    m = len(agreed)
    a_start = decided_at[agreed]
    a_received = received[agreed]
    exception = rng.random(m) < targets.exception_share
    ready = a_start + (rng.integers(56, 99, m) + exception * rng.integers(28, 85, m)) * D
    # Some cases cannot be finalised in time whatever the capacity (late advice, disagreement):
    # about as many as the year's published late share, so spare capacity does not make them on time.
    slow_share = np.array([np.clip(1 - targets.on_time[int(y)], 0.02, 0.5) for y in _years_of(a_received + 120 * D)])
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

    # Plans: issued here, migrated at go-live (H), moved in from other LAs (H).
    census0 = _day(census_date(warm_up))
    n_stock = _count(rng, targets.scaled(targets.plans, warm_up))
    stock_age = _sample_ages(rng, STOCK_AGE, n_stock)
    stock_dob = _dob(rng, np.full(n_stock, census0), stock_age)
    years_in_place = np.maximum(stock_age - 2, 0) * rng.beta(1.2, 2.0, n_stock)
    stock_start = census0 - (years_in_place * 365.25).astype(np.int64) * D - rng.integers(14, 60, n_stock) * D
    stock_start = np.maximum(stock_start, stock_dob + 400 * D)
    tr_dates = []
    for year in years:
        n = _count(rng, TRANSFER_IN_RATE * targets.scaled(targets.plans, year))
        tr_dates.append(_day(dt.date(year, 1, 1)) + rng.integers(0, 365, n) * D)
    tr_start = np.sort(np.concatenate(tr_dates))
    tr_start = tr_start[tr_start <= end]
    n_tr = len(tr_start)
    tr_age = _sample_ages(rng, STOCK_AGE, n_tr)
    tr_dob = _dob(rng, tr_start, tr_age)
    other_las = [c for c in targets_la_codes() if c != targets.old_la_code]
    tr_from = np.where(rng.random(n_tr) < 0.03, "XXX", rng.choice(other_las, n_tr))

    # Historical (H) requests and assessments behind migrated and transferred plans.
    h_n = n_stock + n_tr
    h_kind = np.array(["stock"] * n_stock + ["transfer"] * n_tr)
    h_start = np.concatenate([stock_start, tr_start])
    h_dob = np.concatenate([stock_dob, tr_dob])
    h_issue = np.concatenate([stock_start, tr_start - rng.integers(200, 1800, n_tr) * D])
    h_issue = np.maximum(h_issue, h_dob + 300 * D)
    h_received = h_issue - rng.integers(100, 221, h_n) * D
    h_created = np.concatenate([np.full(n_stock, _day(go_live)), tr_start])

    # People behind new requests; a few requests are repeat requests for the same child.
    req_age = _sample_ages(rng, ISSUE_AGE, n_req)
    req_dob = np.minimum(_dob(rng, received, req_age) + 180 * D, received - 60 * D)
    person_of_request = np.arange(n_req)
    refused = np.flatnonzero(np.isin(outcome, ["N", "W"]))
    if len(refused):
        picks = np.flatnonzero(rng.random(n_req) < REREQUEST_SHARE)
        limit = np.searchsorted(received[refused], received[picks] - 180 * D)
        ok = limit > 0
        picks, limit = picks[ok], limit[ok]
        earlier = refused[np.floor(rng.random(len(picks)) * limit).astype(np.int64)]
        person_of_request[picks] = person_of_request[earlier]
    person_rows = np.unique(person_of_request)  # requests that introduce a new person

    # All persons: new-request people, then migrated/transferred people.
    p_dob = np.concatenate([req_dob[person_rows], h_dob])
    p_created = np.concatenate([received[person_rows], h_created])
    n_people = len(p_dob)
    request_person = np.concatenate(
        [np.searchsorted(person_rows, person_of_request), len(person_rows) + np.arange(h_n)]
    )

    # Plans (index space: issued assessments, then H plans).
    issued = np.flatnonzero(a_outcome == "Y")
    plan_start = np.concatenate([a_outcome_at[issued], h_start])
    plan_request = np.concatenate([agreed[issued], n_req + np.arange(h_n)])  # into all requests
    plan_person = request_person[plan_request]
    plan_dob = p_dob[plan_person]
    plan_kind = np.concatenate([np.full(len(issued), "new"), h_kind])
    keep_plan = plan_start <= end
    plan_cease, plan_reason = _cease_plans(rng, targets, years, plan_start, plan_dob, keep_plan, end)

    all_received = np.concatenate([received, h_received])
    reviews = _reviews(rng, targets, plan_start, plan_cease, plan_dob, keep_plan, go_live, end)
    reviews = _mark_cease_reviews(rng, reviews, plan_cease, plan_reason)

    tables = _assemble(
        rng_for(2),
        targets,
        go_live=go_live,
        end=end,
        persons=dict(dob=p_dob, created=p_created, n=n_people),
        requests=dict(
            received=all_received,
            outcome=np.concatenate([outcome, np.full(h_n, "H")]),
            decided_at=np.concatenate([decided_at, h_created]),
            created=np.concatenate([received, h_created]),
            person=request_person,
        ),
        assessments=dict(
            request=np.concatenate([agreed, n_req + np.arange(h_n)]),
            created=np.concatenate([a_start, h_created]),
            outcome=np.concatenate([a_outcome, np.full(h_n, "H")]),
            outcome_at=np.concatenate([a_outcome_at, h_created]),
            outcome_date=np.concatenate([a_outcome_at, h_issue]),
            exception=np.concatenate([exception, np.zeros(h_n, bool)]),
            new=np.concatenate([np.ones(m, bool), np.zeros(h_n, bool)]),
        ),
        plans=dict(
            start=plan_start,
            assessment=np.concatenate([issued, m + np.arange(h_n)]),
            request=plan_request,
            person=plan_person,
            dob=plan_dob,
            kind=plan_kind,
            cease=plan_cease,
            reason=plan_reason,
            keep=keep_plan,
            transfer_la=np.concatenate([np.full(len(issued) + n_stock, None, dtype=object), tr_from]),
            created=np.concatenate([a_outcome_at[issued], h_created]),
        ),
        reviews=reviews,
        nhs_offset=nhs_offset,
        seed_parts=(seed, la),
    )
    return LaWorld(targets, go_live, horizon, tables, tables.pop("_people"))


def targets_la_codes() -> list[str]:
    from synthetic.calibration import load_targets

    return [c for c in load_targets()["old_la_code"].dropna().astype(str).tolist() if c]


def _finalise_plans(rng, targets, years, a_received, ready, exception, to_issue, end) -> np.ndarray:
    """Month by month, spend the LA's capacity: first on cases still inside 20 weeks (the year's
    on-time share of it), then on the longest waiting."""
    issued_at = np.full(len(ready), NaT)
    deadline = a_received + 140 * D
    ready_year = _years_of(ready)
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
            month_start = _day(dt.date(year, month, 1))
            if month_start > end:
                return issued_at
            month_end = min(_day((pd.Timestamp(year, month, 1) + pd.offsets.MonthEnd(0)).date()), end)
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
            issued_at[chosen_on] = _between(rng, np.maximum(ready[chosen_on], month_start), last_day)
            waiting[chosen_on] = False
            rest = candidates[waiting[candidates]]
            # Longest waiting first, loosely: complex cases slip behind and wait far longer.
            priority = (a_received[rest] - a_received.min()) // D + rng.exponential(LATE_PRIORITY_DAYS, len(rest))
            rest = rest[np.argsort(priority, kind="stable")[: slots - n_on]]
            issued_at[rest] = _between(rng, np.maximum(ready[rest], month_start), np.full(len(rest), month_end))
            waiting[rest] = False
    return issued_at


def _cease_plans(rng, targets, years, start, dob, keep, end):
    """Cease plans each census year so the next January census matches the published caseload."""
    n = len(start)
    cease = np.full(n, NaT)
    reason = np.full(n, None, dtype=object)
    for year in years:
        c0, c1 = _day(census_date(year)), _day(census_date(year + 1))
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
            _day(dt.date(year, 7, 15)) + rng.integers(0, 48, len(chosen)) * D,
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


def _reviews(rng, targets, start, cease, dob, keep, go_live, end) -> pd.DataFrame:
    """Annual reviews: due 12 months after issue or the previous meeting; most held by then."""
    stop = np.where(np.isnat(cease), end, np.minimum(cease, end))
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
        year = _years_of(meeting)
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
    year = _years_of(meeting)
    pfa_p = np.clip(0.72 + 0.04 * (year - 2022), 0.6, 0.9)
    reviews["pfa"] = np.where(nc >= 9, rng.random(len(reviews)) < pfa_p, None)
    # Phase transfer: the review before a move to Reception, Year 7 or post-16 carries the deadline.
    transfer_year = np.where(pd.DatetimeIndex(meeting).month >= 9, year + 1, year)
    moving = np.isin(nc, [-1, 6, 11])
    due_pt = np.where(nc == 11, _on(transfer_year, 3, 31), _on(transfer_year, 2, 15))
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


def _mark_cease_reviews(rng, reviews: pd.DataFrame, cease: np.ndarray, reason: np.ndarray) -> pd.DataFrame:
    """A plan ceased because needs are met (or the young person moved on) was ceased at a review."""
    plan = reviews["plan"].to_numpy()
    fits = np.isin(reason[plan], REVIEW_CEASE_REASONS) & (reviews["decision"].to_numpy("datetime64[D]") <= cease[plan])
    fits &= cease[plan] - reviews["decision"].to_numpy("datetime64[D]") <= 180 * D
    last = reviews[fits].groupby("plan")["meeting"].idxmax()
    last = last[rng.random(len(last)) < CEASED_AT_REVIEW]
    reviews.loc[last.to_numpy(), "outcome"] = "C"
    return reviews


# ---------------------------------------------------------------------------------------------
# From simulated events to world tables


def _frame(ids: np.ndarray, created: np.ndarray, rng: np.random.Generator, **columns) -> pd.DataFrame:
    frame = pd.DataFrame(columns)
    frame.insert(0, "_id", ids)
    frame["_created"] = created
    frame["_deleted"] = NaT
    frame["_minute"] = rng.integers(0, 600, len(frame))
    return frame


def _numbered(frame: pd.DataFrame, prefix: str, id_column: str, rng: np.random.Generator) -> pd.DataFrame:
    """Give rows ids rising with their creation date; keep the old position in `_pos`."""
    order = _order(frame["_created"].to_numpy("datetime64[D]"), rng)
    frame = frame.iloc[order].copy()
    frame["_pos"] = order
    frame[id_column] = _ids(prefix, len(frame))
    return frame.reset_index(drop=True)


def _id_lookup(frame: pd.DataFrame, id_column: str) -> np.ndarray:
    """Array: original position -> id."""
    out = np.empty(len(frame), dtype=object)
    out[frame["_pos"].to_numpy()] = frame[id_column].to_numpy()
    return out


def _assemble(rng, targets, go_live, end, persons, requests, assessments, plans, reviews, nhs_offset, seed_parts):
    tables: dict[str, pd.DataFrame] = {}
    la_code = targets.old_la_code
    live = _day(go_live)
    id_rng = np.random.default_rng(np.random.SeedSequence([*seed_parts, 3]))
    uln_rng = np.random.default_rng(np.random.SeedSequence([seed_parts[0], 998]))

    # People and their SEND record (UPN, ULN).
    n = persons["n"]
    dob, created = persons["dob"], persons["created"]
    nhs = people.nhs_numbers_from_pool(people.nhs_pool(seed_parts[0]), nhs_offset, n)
    nhs = np.where(rng.random(n) < 0.88, nhs, None)
    districts = DISTRICTS.get(targets.area_code, [f"ZZ{k}" for k in range(1, 10)])
    person = _frame(
        np.arange(n),
        created,
        rng,
        pers_common_child_id=nhs,
        pers_sex=rng.choice(["M", "F", "U"], n, p=[0.70, 0.295, 0.005]),
        pers_dob=dob,
        pers_postcode=people.postcodes(rng, n, districts),
    )
    person = _numbered(person, "P", "pers_person_id", rng)
    person_id = _id_lookup(person, "pers_person_id")
    tables["ssd_person"] = person

    reception = reception_year(dob)
    school_start = _sept_first(reception)
    nc_now = nc_year(dob, created)
    has_upn = rng.random(n) < np.where(nc_now >= 0, 0.93, 0.90)
    upn_at = np.where(nc_now >= 0, created, school_start)
    upn_at = np.where(has_upn, upn_at, created)
    upns = np.array(people.upns(id_rng, la_code, n, year_allocated=reception % 100), dtype=object)
    unknown = np.where(nc_now < 0, "UN1", rng.choice(["UN2", "UN3", "UN5", "UN9", "UN10"], n))
    post16 = _sept_first(reception + 12)
    has_uln = rng.random(n) < 0.7
    uln_at = np.where(has_uln, np.maximum(post16, created), NaT)
    send = _frame(
        np.arange(n),
        created,
        rng,
        send_person_id=person_id,
        send_upn=np.where(has_upn, upns, None),
        send_uln=np.where(has_uln, people.ulns(uln_rng, n, start=nhs_offset), None),  # disjoint across LAs too
        send_upn_unknown=np.where(has_upn, None, unknown),
        _t_upn=upn_at,
        _t_uln=uln_at,
    )
    send = _numbered(send, "S", "send_table_id", rng)
    send_id = _id_lookup(send, "send_table_id")
    tables["ssd_send"] = send

    # Requests.
    outcome = requests["outcome"]
    decided = np.isin(outcome, ["Y", "N"])
    req = _frame(
        np.arange(len(outcome)),
        requests["created"],
        rng,
        ehcr_send_table_id=send_id[requests["person"]],
        ehcr_ehcp_req_date=requests["received"],
        ehcr_ehcp_req_outcome_date=np.where(decided, requests["decided_at"], NaT),
        ehcr_ehcp_req_outcome=outcome,
        _t_decided=requests["decided_at"],
    )
    req = _numbered(req, "R", "ehcr_ehcp_request_id", rng)
    request_id = _id_lookup(req, "ehcr_ehcp_request_id")
    tables["ssd_ehcp_requests"] = req

    # Assessments, exceptions, advice, EP allocations.
    a_outcome = assessments["outcome"]
    a_date = np.where(np.isin(a_outcome, ["Y", "N", "H"]), assessments["outcome_date"], NaT)
    asmt = _frame(
        np.arange(len(a_outcome)),
        assessments["created"],
        rng,
        ehca_ehcp_request_id=request_id[assessments["request"]],
        ehca_ehcp_assessment_outcome_date=a_date,
        ehca_ehcp_assessment_outcome=a_outcome,
        ehca_ehcp_assessment_exceptions=np.where(assessments["exception"], "1", "0"),
        _t_outcome=assessments["outcome_at"],
    )
    asmt = _numbered(asmt, "A", "ehca_ehcp_assessment_id", rng)
    assessment_id = _id_lookup(asmt, "ehca_ehcp_assessment_id")
    tables["ssd_ehcp_assessment"] = asmt

    exc = np.flatnonzero(assessments["exception"])
    recorded = assessments["created"][exc] + rng.integers(20, 81, len(exc)) * D
    reasons = ["SETTING_CLOSED", "PERSONAL_CIRCUMSTANCES", "ABSENT_FROM_AREA", "MISSED_APPOINTMENT"]
    exceptions = _frame(
        exc,
        recorded,
        rng,
        asex_ehcp_assessment_id=assessment_id[exc],
        asex_reason=rng.choice(reasons, len(exc), p=[0.15, 0.45, 0.15, 0.25]),
        asex_recorded_date=recorded,
    )
    tables["send_assessment_exceptions"] = _numbered(exceptions, "EX", "asex_exception_id", rng)

    tables["send_ehcp_advice"], tables["send_ep_allocations"] = _advice(
        rng, assessments, assessment_id, person["pers_postcode"].to_numpy()[np.argsort(person["_pos"].to_numpy())],
        requests["person"], end,
    )  # fmt: skip

    # Plans, needs, placements, reviews, audits, post-16 activity.
    keep = plans["keep"]
    pidx = np.flatnonzero(keep)
    cease = plans["cease"][pidx]
    cease_seen = cease + rng.integers(0, 31, len(pidx)) * D
    plan_created = np.maximum(plans["created"][pidx], live) if len(pidx) else np.array([], "datetime64[D]")
    named = _frame(
        pidx,
        plan_created,
        rng,
        ehcn_ehcp_asmt_id=assessment_id[plans["assessment"][pidx]],
        ehcn_named_plan_start_date=plans["start"][pidx],
        ehcn_named_plan_ceased_date=cease,
        ehcn_named_plan_ceased_reason=plans["reason"][pidx],
        _t_ceased=cease_seen,
    )
    named = _numbered(named, "NP", "ehcn_named_plan_id", rng)
    named_id = np.empty(len(keep), dtype=object)
    named_id[named["_id"].to_numpy()] = named["ehcn_named_plan_id"].to_numpy()
    tables["ssd_ehcp_named_plan"] = named
    active = _frame(
        pidx,
        plan_created,
        rng,
        ehcp_ehcp_request_id=request_id[plans["request"][pidx]],
        ehcp_active_ehcp_last_review_date=np.full(len(pidx), NaT),
        ehcp_named_plan_id=named_id[pidx],
        ehcp_transfer_la=plans["transfer_la"][pidx],
    )
    active = _numbered(active, "AP", "ehcp_active_ehcp_id", rng)
    active_id = np.empty(len(keep), dtype=object)
    active_id[active["_id"].to_numpy()] = active["ehcp_active_ehcp_id"].to_numpy()
    tables["ssd_ehcp_active_plans"] = active

    tables["ssd_sen_need"] = _needs(rng, targets, pidx, plans["start"][pidx], plan_created, active_id)
    tables["send_placements"] = _placements(
        rng, targets, pidx, plans["start"][pidx], cease, plans["dob"][pidx], plan_created, active_id, live, end
    )
    review_table = _review_rows(rng, reviews, active_id)
    tables["send_annual_reviews"] = review_table
    tables["send_ehcp_audits"] = _audits(rng, pidx, plans, active_id, review_table, reviews, live, end)
    tables["send_post16_activity"] = _post16(
        rng, pidx, plans["start"][pidx], cease, plans["dob"][pidx], person_id[plans["person"][pidx]], live, end
    )

    # Who the health feeds can link to: NHS number, birth date, sex, postcode, primary need.
    primary = tables["ssd_sen_need"]
    primary = primary[primary["senn_active_ehcp_need_rank"] == "1"].set_index("senn_active_ehcp_id")
    plan_need = np.full(n, None, dtype=object)
    plan_need[plans["person"][pidx]] = primary["senn_active_ehcp_need_type"].reindex(active_id[pidx]).to_numpy()
    by_pos = np.argsort(person["_pos"].to_numpy())
    tables["_people"] = pd.DataFrame(
        {
            "nhs_number": nhs,
            "dob": dob,
            "sex": person["pers_sex"].to_numpy()[by_pos],
            "postcode": person["pers_postcode"].to_numpy()[by_pos],
            "primary_need": plan_need,
            "known_from": created,
        }
    )
    return tables


def _advice(rng, assessments, assessment_id, postcode_by_person, request_person, end):
    new = np.flatnonzero(assessments["new"])
    created = assessments["created"][new]
    outcome, outcome_at = assessments["outcome"][new], assessments["outcome_at"][new]
    rows = []
    for kind in ("EP", "HEALTH", "SOCIAL_CARE"):
        k = len(new)
        requested = created + rng.integers(0, 8, k) * D
        year = _years_of(requested)
        p = np.array([_by_year(ADVICE_ON_TIME[kind], int(y)) for y in year]) if k else np.array([])
        slow_scale = 35.0 if kind == "EP" else 20.0
        late_days = 43 + rng.gamma(2.0, slow_scale, k).astype(int)
        received = requested + np.where(rng.random(k) < p, rng.integers(10, 43, k), late_days) * D
        issued = outcome == "Y"
        cap = np.maximum(outcome_at - 7 * D, requested + 5 * D)
        received = np.where(issued & ~np.isnat(outcome_at) & (received > cap), cap, received)
        received = np.where((outcome == "W") & ~(received < outcome_at), NaT, received)
        rows.append(pd.DataFrame({"a": new, "kind": kind, "requested": requested, "received": received}))
    advice = pd.concat(rows, ignore_index=True)
    table = _frame(
        np.arange(len(advice)),
        advice["requested"].to_numpy("datetime64[D]"),
        rng,
        ehad_ehcp_assessment_id=assessment_id[advice["a"].to_numpy()],
        ehad_advice_type=advice["kind"].to_numpy(),
        ehad_requested_date=advice["requested"].to_numpy("datetime64[D]"),
        ehad_received_date=advice["received"].to_numpy("datetime64[D]"),
        _t_received=advice["received"].to_numpy("datetime64[D]"),
    )
    table = _numbered(table, "AD", "ehad_advice_id", rng)

    ep = table[table["ehad_advice_type"] == "EP"]
    k = len(ep)
    requested = ep["ehad_requested_date"].to_numpy("datetime64[D]")
    received = ep["ehad_received_date"].to_numpy("datetime64[D]")
    wait = np.minimum(np.where(np.isnat(received), 60 * D, received - requested) // D, 21)
    allocated = requested + np.floor(rng.random(k) * (np.maximum(wait, 0) + 1)).astype(np.int64) * D
    year = _years_of(allocated)
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
    alloc = _frame(
        np.arange(k),
        allocated,
        rng,
        epal_advice_id=ep["ehad_advice_id"].to_numpy(),
        epal_allocated_date=allocated,
        epal_team=team,
        epal_employment_type=employment,
    )
    alloc = alloc[alloc["_created"] <= pd.Timestamp(end)]
    return table, _numbered(alloc, "EA", "epal_allocation_id", rng)


def _needs(rng, targets, pidx, start, created, active_id):
    n = len(pidx)
    codes = np.array(NEED_CODES)
    shares = np.array([targets.need_shares[c] for c in NEED_CODES])
    primary = rng.choice(codes, n, p=shares)
    primary = np.where((start >= _day(dt.date(2025, 1, 1))) & (rng.random(n) < 0.004), "DS", primary)
    has_second = rng.random(n) < 0.45
    second = rng.choice(codes, n, p=shares)
    clash = second == primary
    second[clash] = codes[(np.searchsorted(codes, second[clash]) + 1) % len(codes)]
    second = np.where(rng.random(n) < 0.004, "DS", second)
    second = np.where(second == primary, "OTH", second)
    ids = np.concatenate([pidx, pidx[has_second]])
    frame = _frame(
        ids,
        np.concatenate([created, created[has_second]]),
        rng,
        senn_active_ehcp_id=active_id[ids],
        senn_active_ehcp_need_type=np.concatenate([primary, second[has_second]]),
        senn_active_ehcp_need_rank=np.array(["1"] * n + ["2"] * int(has_second.sum())),
    )
    return _numbered(frame, "SN", "senn_table_id", rng)


PLACEMENT_MIX = {  # setting group by phase, before any move
    "early": (["EARLY_YEARS", "MAINSTREAM", "SPECIAL"], [0.50, 0.45, 0.05]),
    "primary": (["MAINSTREAM", "SPECIAL", "EDUCATED_ELSEWHERE", "AP_PRU", None], [0.62, 0.33, 0.03, 0.005, 0.015]),
    "secondary": (["MAINSTREAM", "SPECIAL", "AP_PRU", "EDUCATED_ELSEWHERE", None], [0.40, 0.48, 0.015, 0.075, 0.03]),
    "post16": (["FE", "SPECIAL", "MAINSTREAM", "EDUCATED_ELSEWHERE", None], [0.50, 0.25, 0.12, 0.05, 0.08]),
}


def _placements(rng, targets, pidx, start, cease, dob, created, active_id, live, end):
    stop = np.where(np.isnat(cease), end, np.minimum(cease, end))
    reception = reception_year(dob)
    starts = [start]
    owner = [np.arange(len(pidx))]
    for nc in (0, 7, 12):
        move = _sept_first(reception + nc)
        inside = (move > start) & (move <= stop)
        starts.append(move[inside])
        owner.append(np.flatnonzero(inside))
    seg = pd.DataFrame({"p": np.concatenate(owner), "entry": np.concatenate(starts)})
    # Some children move setting mid-phase (to special school, alternative provision, elsewhere).
    seg = seg.sort_values(["p", "entry"], kind="stable").reset_index(drop=True)
    seg_end = seg.groupby("p")["entry"].shift(-1).to_numpy("datetime64[D]")
    seg_end = np.where(np.isnat(seg_end), stop[seg["p"].to_numpy()], seg_end)
    long = (seg_end - seg["entry"].to_numpy("datetime64[D]")) // D > 240
    split = long & (rng.random(len(seg)) < 0.08)
    extra = pd.DataFrame(
        {
            "p": seg["p"][split],
            "entry": _between(rng, seg["entry"].to_numpy("datetime64[D]")[split] + 90 * D, seg_end[split] - 30 * D),
        }  # fmt: skip
    )
    seg = pd.concat([seg, extra]).sort_values(["p", "entry"], kind="stable").reset_index(drop=True)
    p = seg["p"].to_numpy()
    entry = seg["entry"].to_numpy("datetime64[D]")
    nxt = seg.groupby("p")["entry"].shift(-1).to_numpy("datetime64[D]")
    leaving = np.where(np.isnat(nxt), cease[p], nxt - 1 * D)
    nc = nc_year(dob[p], entry)
    phase = np.select([nc < 0, nc <= 6, nc <= 11], ["early", "primary", "secondary"], "post16")
    group = np.empty(len(seg), dtype=object)
    for name, (groups, weights) in PLACEMENT_MIX.items():
        mask = phase == name
        group[mask] = rng.choice(np.array(groups, dtype=object), mask.sum(), p=weights)
    keep = (group != None) & (np.where(np.isnat(leaving), True, leaving >= live))  # noqa: E711
    p, entry, leaving, group = p[keep], entry[keep], leaving[keep], group[keep]
    k = len(p)
    la = int(targets.old_la_code)
    base = 900_000 + ((la * 613) % 99) * 1000
    plans_n = max(targets.scaled(targets.plans, 2025), 1)
    pools = {
        "MAINSTREAM": int(max(5, plans_n / 20)),
        "SPECIAL": int(max(2, plans_n / 250)),
        "AP_PRU": int(max(1, plans_n / 2000)),
        "EARLY_YEARS": int(max(2, plans_n / 300)),
    }
    offsets = {"MAINSTREAM": 0, "SPECIAL": 700, "AP_PRU": 850, "EARLY_YEARS": 900}
    urn = np.full(k, None, dtype=object)
    for name, size in pools.items():
        mask = group == name
        if name == "EARLY_YEARS":
            mask &= rng.random(k) < 0.6
        urn[mask] = (base + offsets[name] + rng.integers(0, min(size, 99 if name != "MAINSTREAM" else 699),
                                                          mask.sum())).astype(str)  # fmt: skip
    fe = group == "FE"
    ukprn = np.where(fe, (10_900_000 + (la % 100) * 100 + rng.integers(0, 40, k)).astype(str), None)
    setting = np.full(k, None, dtype=object)
    elsewhere = group == "EDUCATED_ELSEWHERE"
    setting[elsewhere] = rng.choice(["OLA", "OPA", "EHE"], elsewhere.sum(), p=[0.5, 0.15, 0.35])
    setting[(group == "EARLY_YEARS") & (urn == None)] = "EYP"  # noqa: E711
    school = np.isin(group, ["MAINSTREAM", "SPECIAL", "AP_PRU"])
    mainstream = group == "MAINSTREAM"
    frame = _frame(
        p,
        np.maximum(np.maximum(entry, created[p]), live),
        rng,
        plac_active_ehcp_id=active_id[pidx[p]],
        plac_urn=urn,
        plac_ukprn=ukprn,
        plac_sen_setting=setting,
        plac_setting_group=group,
        plac_placement_rank=np.full(k, "1"),
        plac_sen_unit=np.where(school, np.where(mainstream & (rng.random(k) < 0.04), "1", "0"), None),
        plac_resourced_provision=np.where(school, np.where(mainstream & (rng.random(k) < 0.05), "1", "0"), None),
        plac_residential=np.where((group == "SPECIAL") & (rng.random(k) < 0.03), rng.choice(["A", "B"], k), None),
        plac_work_based=np.where(fe & (rng.random(k) < 0.08), rng.choice(["S", "A", "T"], k, p=[0.6, 0.3, 0.1]), None),
        plac_entry_date=entry,
        plac_leaving_date=leaving,
        _t_left=leaving + rng.integers(0, 15, k) * D,
    )
    frame = frame[frame["_created"] <= pd.Timestamp(end)]
    return _numbered(frame, "PL", "plac_placement_id", rng)


def _review_rows(rng, reviews, active_id):
    plan = reviews["plan"].to_numpy()
    meeting = reviews["meeting"].to_numpy("datetime64[D]")
    frame = _frame(
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
    return _numbered(frame, "AR", "anre_review_id", rng)


def _audits(rng, pidx, plans, active_id, review_table, reviews, live, end):
    """About 5% of active plans audited a year: half new plans, half plans just reviewed."""
    start = plans["start"]
    new_plan = pidx[(plans["kind"][pidx] == "new")]
    parts = []
    review_plan = reviews["plan"].to_numpy()
    review_decision = reviews["decision"].to_numpy("datetime64[D]")
    review_id = _id_lookup(review_table, "anre_review_id")
    for year in range(live.astype(object).year, end.astype(object).year + 1):
        y0, y1 = _day(dt.date(year, 1, 1)), _day(dt.date(year, 12, 31))
        active_mid = ((start[pidx] <= y0 + 182 * D) & ~(plans["cease"][pidx] <= y0 + 182 * D)).sum()
        n = _count(rng, _by_year(AUDIT_RATE, year) * active_mid)
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
    year = _years_of(date)
    grade = np.empty(k, dtype=object)
    for y in np.unique(year):
        mask = year == y
        grade[mask] = rng.choice(AUDIT_GRADES, mask.sum(), p=_by_year(AUDIT_GRADE_SHARES, int(y)))
    nc = nc_year(plans["dob"][audits["plan"].to_numpy()], date)
    pfa = np.where(nc >= 9, rng.random(k) < np.clip(0.55 + 0.06 * (year - 2022), 0.4, 0.85), None)
    quick = rng.random(k) < np.clip(0.45 + 0.1 * (year - 2023), 0.3, 0.85)
    loop = date + np.where(quick, rng.integers(5, 29, k), 29 + rng.gamma(2.0, 15.0, k).astype(int)) * D
    loop = np.where((grade == "INADEQUATE") & (rng.random(k) < 0.9), loop, NaT)
    is_review = audits["review"].to_numpy() >= 0
    frame = _frame(
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
    return _numbered(frame, "QA", "ehqa_audit_id", rng)


def _post16(rng, pidx, start, cease, dob, person_id, live, end):
    """Activity confirmed each autumn from Year 12, and a change mid-year for some."""
    stop = np.where(np.isnat(cease), end, np.minimum(cease, end))
    reception = reception_year(dob)
    parts = []
    for nc in range(12, 22):
        autumn = _sept_first(reception + nc)
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
    frame = _frame(
        np.arange(k),
        date,
        rng,
        p16a_person_id=person_id[rows["p"].to_numpy()],
        p16a_activity_date=date,
        p16a_status=status,
        p16a_activity=activity,
    )
    return _numbered(frame, "PA", "p16a_activity_id", rng)
