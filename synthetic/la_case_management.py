"""Synthetic LA case-management database (SSD EHCP tables) written through SQLAlchemy.

`build_frames` makes the tables as DataFrames; `write_tables` creates them from the source contract
and writes them to any SQLAlchemy URL (SQLite for the demo, PostgreSQL in tests).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ingestion.contract import load_contract
from synthetic import people

# Share of plans issued within 20 weeks, by calendar year of issue (Lancashire: 80.4% in 2023,
# 17.3% in 2024, DfE EHC plans 2025). Other years interpolate towards a recovery.
ON_TIME_SHARE = {2020: 0.62, 2021: 0.66, 2022: 0.72, 2023: 0.80, 2024: 0.17, 2025: 0.24, 2026: 0.35}
_SQL_TYPES = {
    "string": sa.String(64),
    "date": sa.Date(),
    "timestamp": sa.DateTime(),
    "integer": sa.Integer(),
    "number": sa.Float(),
    "boolean": sa.Boolean(),
}


@dataclass(frozen=True)
class Scale:
    name: str
    requests_per_year: int
    la_code: str = "888"  # DfE old LA code, used in UPNs
    area_code: str = "E10000017"


SCALES = {
    "demo": Scale("demo", requests_per_year=600),
    "lancashire": Scale("lancashire", requests_per_year=3_700),
}


def build_frames(scale: Scale, seed: int, as_of: dt.date, first_year: int = 2021) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    years = range(first_year, as_of.year + 1)
    received: list[pd.Timestamp] = []
    for year in years:
        start = pd.Timestamp(year, 1, 1)
        end = min(pd.Timestamp(year, 12, 31), pd.Timestamp(as_of))
        span = (end - start).days + 1
        n = round(scale.requests_per_year * span / 365)
        received += list(start + pd.to_timedelta(rng.integers(0, span, n), unit="D"))
    received.sort()
    n = len(received)
    req_date = pd.to_datetime(pd.Series(received))
    as_of_ts = pd.Timestamp(as_of)

    person_ids = [f"P{1_000_000 + i}" for i in range(n)]
    dob = req_date - pd.to_timedelta(rng.integers(365 * 2, 365 * 19, n), unit="D")
    person = pd.DataFrame(
        {
            "pers_person_id": person_ids,
            "pers_common_child_id": people.nhs_numbers(rng, n),
            "pers_sex": rng.choice(["M", "F", "U"], n, p=[0.68, 0.31, 0.01]),
            "pers_dob": dob.dt.date,
            "pers_postcode": people.postcodes(rng, n),
        }
    )
    send = pd.DataFrame(
        {
            "send_table_id": [f"S{1_000_000 + i}" for i in range(n)],
            "send_person_id": person_ids,
            "send_upn": people.upns(rng, scale.la_code, n),
            "send_uln": [None] * n,
            "send_upn_unknown": [None] * n,
        }
    )

    # Decision to assess: Y 76%, N 20%, W 4%; decided 3-9 weeks after the request.
    decision_days = rng.integers(21, 64, n)
    decision_date = req_date + pd.to_timedelta(decision_days, unit="D")
    outcome = rng.choice(["Y", "N", "W"], n, p=[0.76, 0.20, 0.04])
    undecided = decision_date > as_of_ts
    outcome = np.where(undecided, "A", outcome)
    requests = pd.DataFrame(
        {
            "ehcr_ehcp_request_id": [f"R{1_000_000 + i}" for i in range(n)],
            "ehcr_send_table_id": send["send_table_id"],
            "ehcr_ehcp_req_date": req_date.dt.date,
            "ehcr_ehcp_req_outcome_date": decision_date.where(np.isin(outcome, ["Y", "N"])).dt.date,
            "ehcr_ehcp_req_outcome": outcome,
            "last_modified_at": decision_date.where(~undecided, req_date) + pd.Timedelta(hours=10),
        }
    )

    # Assessments for agreed requests: a plan is issued (Y, 92%) or not (N); timeliness by the
    # calendar year the plan would be issued in, so yearly percentages follow ON_TIME_SHARE.
    agreed = requests[outcome == "Y"].reset_index(drop=True)
    m = len(agreed)
    start = pd.to_datetime(agreed["ehcr_ehcp_req_date"])
    nominal_year = (start + pd.Timedelta(days=140)).dt.year
    on_time = rng.random(m) < nominal_year.map(ON_TIME_SHARE).fillna(0.5).to_numpy()
    days = np.where(on_time, rng.integers(98, 141, m), 141 + rng.gamma(2.0, 45.0, m).astype(int))
    exception = rng.random(m) < 0.02
    days = np.where(exception, days + rng.integers(14, 60, m), days)
    outcome_date = start + pd.to_timedelta(days, unit="D")
    asmt_outcome = rng.choice(["Y", "N"], m, p=[0.92, 0.08])
    open_case = outcome_date > as_of_ts
    asmt_outcome = np.where(open_case, "A", asmt_outcome)
    assessment = pd.DataFrame(
        {
            "ehca_ehcp_assessment_id": [f"A{1_000_000 + i}" for i in range(m)],
            "ehca_ehcp_request_id": agreed["ehcr_ehcp_request_id"],
            "ehca_ehcp_assessment_outcome_date": outcome_date.where(~open_case).dt.date,
            "ehca_ehcp_assessment_outcome": asmt_outcome,
            "ehca_ehcp_assessment_exceptions": np.where(exception, "1", "0"),
            "last_modified_at": outcome_date.where(~open_case, start) + pd.Timedelta(hours=11),
        }
    )

    person["last_modified_at"] = req_date + pd.Timedelta(hours=9)
    send["last_modified_at"] = person["last_modified_at"]
    return {
        "ssd_person": person,
        "ssd_send": send,
        "ssd_ehcp_requests": requests,
        "ssd_ehcp_assessment": assessment,
    }


def write_tables(url: str, frames: dict[str, pd.DataFrame], replace: bool = True) -> None:
    """Create the contract's tables at `url` and write the frames (missing columns are left null)."""
    contract = load_contract("la_case_management")
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    tables = {
        name: sa.Table(
            name,
            meta,
            *(
                sa.Column(col, _SQL_TYPES[spec.type], primary_key=col in table.primary_key)
                for col, spec in table.columns.items()
            ),
        )
        for name, table in contract.tables.items()
    }
    with engine.begin() as conn:
        if replace:
            meta.drop_all(conn)
        meta.create_all(conn)
        for name, frame in frames.items():
            columns = list(contract.tables[name].columns)
            rows = frame.reindex(columns=columns).astype(object).where(frame.reindex(columns=columns).notna(), None)
            if len(rows):
                conn.execute(tables[name].insert(), rows.to_dict("records"))
    engine.dispose()


def generate(url: str, scale: str = "demo", seed: int = 42, as_of: dt.date | None = None) -> dict[str, int]:
    frames = build_frames(SCALES[scale], seed, as_of or dt.date.today())
    write_tables(url, frames)
    return {name: len(frame) for name, frame in frames.items()}
