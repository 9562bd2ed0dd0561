"""The children and young people: who is behind each request, their person and SEND records
(identifiers from synthetic.people), and what the health feeds can link them by."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic import people
from synthetic.calibration import LaTargets
from synthetic.la_world.dates import D, NaT, nc_year, reception_year, sept_first
from synthetic.la_world.draws import birth_dates, sample_ages
from synthetic.la_world.plans import PlansFromBefore
from synthetic.la_world.rows import id_lookup, numbered, world_rows

# Age when a plan is first issued (Lancashire, plans issued in 2024).
ISSUE_AGE = {2: 14, 3: 371, 4: 223, 5: 103, 6: 123, 7: 102, 8: 100, 9: 118, 10: 146, 11: 76, 12: 80, 13: 97,
             14: 80, 15: 51, 16: 25, 17: 7, 18: 2, 20: 1}  # fmt: skip
REREQUEST_SHARE = 0.04  # new requests made for a child refused or withdrawn before
DISTRICTS = {
    "E10000017": ["PR1", "PR2", "PR3", "PR4", "PR7", "PR25", "BB4", "BB5", "BB7", "BB9", "BB10", "LA1", "LA3",
                  "LA4", "FY5", "FY6", "FY8", "L39", "L40", "WN8"],
    "E06000009": ["FY1", "FY2", "FY3", "FY4"],
    "E06000008": ["BB1", "BB2", "BB3"],
    "E06000064": ["LA8", "LA9", "LA12", "LA13", "LA14", "CA10", "CA11"],
}  # fmt: skip


def draw_persons(rng, received, outcome, before: PlansFromBefore):
    """Birth date and first-known date per person, and the person of every request (new, then H).

    A few new requests are repeat requests for a child refused or withdrawn before."""
    n_req = len(received)
    req_age = sample_ages(rng, ISSUE_AGE, n_req)
    req_dob = np.minimum(birth_dates(rng, received, req_age) + 180 * D, received - 60 * D)
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

    # New-request people, then migrated/transferred people.
    dob = np.concatenate([req_dob[person_rows], before.dob])
    created = np.concatenate([received[person_rows], before.created])
    request_person = np.concatenate(
        [np.searchsorted(person_rows, person_of_request), len(person_rows) + np.arange(len(before.start))]
    )
    return dob, created, request_person


def person_tables(rng, targets: LaTargets, persons: dict, nhs_offset: int, seed_parts: tuple[int, int]):
    """The person table, the SEND record (UPN, ULN) and each person's NHS number (None where not held)."""
    la_code = targets.old_la_code
    id_rng = np.random.default_rng(np.random.SeedSequence([*seed_parts, 3]))
    uln_rng = np.random.default_rng(np.random.SeedSequence([seed_parts[0], 998]))
    n = persons["n"]
    dob, created = persons["dob"], persons["created"]
    nhs = people.nhs_numbers_from_pool(people.nhs_pool(seed_parts[0]), nhs_offset, n)
    nhs = np.where(rng.random(n) < 0.88, nhs, None)
    districts = DISTRICTS.get(targets.area_code, [f"ZZ{k}" for k in range(1, 10)])
    person = world_rows(
        np.arange(n),
        created,
        rng,
        pers_common_child_id=nhs,
        pers_sex=rng.choice(["M", "F", "U"], n, p=[0.70, 0.295, 0.005]),
        pers_dob=dob,
        pers_postcode=people.postcodes(rng, n, districts),
    )
    person = numbered(person, "P", "pers_person_id", rng)
    person_id = id_lookup(person, "pers_person_id")

    reception = reception_year(dob)
    school_start = sept_first(reception)
    nc_now = nc_year(dob, created)
    has_upn = rng.random(n) < np.where(nc_now >= 0, 0.93, 0.90)
    upn_at = np.where(nc_now >= 0, created, school_start)
    upn_at = np.where(has_upn, upn_at, created)
    upns = np.array(people.upns(id_rng, la_code, n, year_allocated=reception % 100), dtype=object)
    unknown = np.where(nc_now < 0, "UN1", rng.choice(["UN2", "UN3", "UN5", "UN9", "UN10"], n))
    post16 = sept_first(reception + 12)
    has_uln = rng.random(n) < 0.7
    uln_at = np.where(has_uln, np.maximum(post16, created), NaT)
    send = world_rows(
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
    return person, numbered(send, "S", "send_table_id", rng), nhs


def linkable_people(person, persons: dict, nhs, needs, plan_active_id, plan_person) -> pd.DataFrame:
    """Who the health feeds can link to: NHS number, birth date, sex, postcode, primary need."""
    primary = needs[needs["senn_active_ehcp_need_rank"] == "1"].set_index("senn_active_ehcp_id")
    plan_need = np.full(persons["n"], None, dtype=object)
    plan_need[plan_person] = primary["senn_active_ehcp_need_type"].reindex(plan_active_id).to_numpy()
    by_pos = np.argsort(person["_pos"].to_numpy())
    return pd.DataFrame(
        {
            "nhs_number": nhs,
            "dob": persons["dob"],
            "sex": person["pers_sex"].to_numpy()[by_pos],
            "postcode": person["pers_postcode"].to_numpy()[by_pos],
            "primary_need": plan_need,
            "known_from": persons["created"],
        }
    )
