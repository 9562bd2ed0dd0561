"""One LA's world: draws each part in turn from one random stream, then turns the events into tables.

The order of the draws is the output: moving a step changes every row after it for the same seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthetic.calibration import LaTargets
from synthetic.la_world.advice import advice_tables
from synthetic.la_world.assessments import assessment_tables, draw_assessments
from synthetic.la_world.audits import audit_table
from synthetic.la_world.dates import day
from synthetic.la_world.disputes import add_dispute_columns
from synthetic.la_world.needs import need_table
from synthetic.la_world.persons import draw_persons, linkable_people, person_tables
from synthetic.la_world.placements import placement_table
from synthetic.la_world.plans import cease_plans, draw_plans_from_before, plan_tables
from synthetic.la_world.post16 import activity_table
from synthetic.la_world.requests import draw_requests, request_table
from synthetic.la_world.reviews import draw_reviews, mark_cease_reviews, review_table
from synthetic.la_world.rows import id_lookup


@dataclass
class LaWorld:
    targets: LaTargets
    go_live: dt.date  # first day of the source's history
    horizon: dt.date  # last day simulated
    tables: dict[str, pd.DataFrame]  # world tables (see synthetic.timeline)
    people: pd.DataFrame  # one row per person, for the health feeds to link to


def simulate(targets: LaTargets, seed: int, first_year: int, horizon: dt.date, nhs_offset: int = 0) -> LaWorld:
    la = int(targets.old_la_code)

    def rng_for(part: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([seed, la, part]))

    rng = rng_for(1)
    warm_up = first_year - 1  # the queue runs a year before the history the dashboard reads
    go_live = dt.date(warm_up, 1, 1)
    years = list(range(warm_up, horizon.year + 1))
    end = day(horizon)

    received, outcome, decided_at = draw_requests(rng, targets, years, end)
    n_req = len(received)
    agreed, a_start, exception, a_outcome, a_outcome_at = draw_assessments(
        rng, targets, years, received, outcome, decided_at, end
    )
    m = len(agreed)
    before = draw_plans_from_before(rng, targets, years, go_live, end)
    h_n = len(before.start)
    p_dob, p_created, request_person = draw_persons(rng, received, outcome, before)

    # Plans (index space: issued assessments, then plans from before).
    issued = np.flatnonzero(a_outcome == "Y")
    plan_start = np.concatenate([a_outcome_at[issued], before.start])
    plan_request = np.concatenate([agreed[issued], n_req + np.arange(h_n)])  # into all requests
    plan_person = request_person[plan_request]
    plan_dob = p_dob[plan_person]
    keep_plan = plan_start <= end
    plan_cease, plan_reason = cease_plans(rng, targets, years, plan_start, plan_dob, keep_plan, end)

    reviews = draw_reviews(rng, targets, plan_start, plan_cease, plan_dob, keep_plan, go_live, end)
    reviews = mark_cease_reviews(rng, reviews, plan_cease, plan_reason)

    tables = _assemble(
        rng_for(2),
        targets,
        go_live=go_live,
        end=end,
        persons=dict(dob=p_dob, created=p_created, n=len(p_dob)),
        requests=dict(
            received=np.concatenate([received, before.received]),
            outcome=np.concatenate([outcome, np.full(h_n, "H")]),
            decided_at=np.concatenate([decided_at, before.created]),
            created=np.concatenate([received, before.created]),
            person=request_person,
        ),
        assessments=dict(
            request=np.concatenate([agreed, n_req + np.arange(h_n)]),
            created=np.concatenate([a_start, before.created]),
            outcome=np.concatenate([a_outcome, np.full(h_n, "H")]),
            outcome_at=np.concatenate([a_outcome_at, before.created]),
            outcome_date=np.concatenate([a_outcome_at, before.issue]),
            exception=np.concatenate([exception, np.zeros(h_n, bool)]),
            new=np.concatenate([np.ones(m, bool), np.zeros(h_n, bool)]),
        ),
        plans=dict(
            start=plan_start,
            assessment=np.concatenate([issued, m + np.arange(h_n)]),
            request=plan_request,
            person=plan_person,
            dob=plan_dob,
            kind=np.concatenate([np.full(len(issued), "new"), before.kind]),
            cease=plan_cease,
            reason=plan_reason,
            keep=keep_plan,
            transfer_la=np.concatenate(
                [np.full(len(issued) + before.n_stock, None, dtype=object), before.transfer_from]
            ),
            created=np.concatenate([a_outcome_at[issued], before.created]),
        ),
        reviews=reviews,
        nhs_offset=nhs_offset,
        seed_parts=(seed, la),
    )
    # SEN2 items added after contract 1.3.0 draw from their own stream (part 10), after everything
    # else: every value the world had before them stays the same for the same seed.
    add_dispute_columns(rng_for(10), tables)
    return LaWorld(targets, go_live, horizon, tables, tables.pop("_people"))


def _assemble(rng, targets, go_live, end, persons, requests, assessments, plans, reviews, nhs_offset, seed_parts):
    """The world tables. Each part draws from `rng` in turn, so the order of the calls is part of the output."""
    live = day(go_live)
    tables: dict[str, pd.DataFrame] = {}
    person, send, nhs = person_tables(rng, targets, persons, nhs_offset, seed_parts)
    tables["ssd_person"], tables["ssd_send"] = person, send
    tables["ssd_ehcp_requests"] = request_table(rng, requests, id_lookup(send, "send_table_id"))
    request_id = id_lookup(tables["ssd_ehcp_requests"], "ehcr_ehcp_request_id")
    tables["ssd_ehcp_assessment"], tables["send_assessment_exceptions"] = assessment_tables(
        rng, assessments, request_id
    )
    assessment_id = id_lookup(tables["ssd_ehcp_assessment"], "ehca_ehcp_assessment_id")
    tables["send_ehcp_advice"], tables["send_ep_allocations"] = advice_tables(
        rng, assessments, assessment_id, person["pers_postcode"].to_numpy()[np.argsort(person["_pos"].to_numpy())],
        requests["person"], end,
    )  # fmt: skip

    pidx = np.flatnonzero(plans["keep"])
    start, cease, dob = plans["start"][pidx], plans["cease"][pidx], plans["dob"][pidx]
    plan_created = np.maximum(plans["created"][pidx], live) if len(pidx) else np.array([], "datetime64[D]")
    tables["ssd_ehcp_named_plan"], tables["ssd_ehcp_active_plans"], active_id = plan_tables(
        rng, plans, pidx, plan_created, assessment_id, request_id
    )
    tables["ssd_sen_need"] = need_table(rng, targets, pidx, start, plan_created, active_id)
    tables["send_placements"] = placement_table(
        rng, targets, pidx, start, cease, dob, plan_created, active_id, live, end
    )
    tables["send_annual_reviews"] = review_table(rng, reviews, active_id)
    tables["send_ehcp_audits"] = audit_table(
        rng, pidx, plans, active_id, tables["send_annual_reviews"], reviews, live, end
    )
    person_id = id_lookup(person, "pers_person_id")
    tables["send_post16_activity"] = activity_table(
        rng, pidx, start, cease, dob, person_id[plans["person"][pidx]], live, end
    )
    tables["_people"] = linkable_people(
        person, persons, nhs, tables["ssd_sen_need"], active_id[pidx], plans["person"][pidx]
    )
    return tables
