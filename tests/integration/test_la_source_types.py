"""The LA extract on a typed PostgreSQL source, tables made by explicit DDL with the types real
case-management databases use: every value lands as the source meant it."""

from __future__ import annotations

import duckdb
import pytest
import sqlalchemy as sa

from ingestion import identifiers, load
from ingestion.la_case_management import extract
from synthetic.la_case_management import write_tables

AREA = "E10000017"
# The session's zone is UTC on most servers: a timestamptz then arrives as a UTC instant.
DDL = """
drop table ssd_person;
create table ssd_person (
    pers_person_id bigint primary key,
    pers_common_child_id bigint,  -- NHS number kept as a number, NULL when not known
    pers_sex char(1),
    pers_dob date,
    pers_postcode varchar(8),
    last_modified_at timestamp without time zone not null
);
insert into ssd_person values
    (1234567890123, 9990000018, 'F', '2014-03-09', 'PR1 2AB', '2024-06-30 18:00:00'),
    (1234567890124, null, 'M', '2015-11-30', null, '2024-06-30 18:05:00.250');

drop table ssd_ehcp_assessment;
create table ssd_ehcp_assessment (
    ehca_ehcp_assessment_id numeric(18, 0) primary key,
    ehca_ehcp_request_id bigint not null,
    ehca_ehcp_assessment_outcome_date date,
    ehca_ehcp_assessment_outcome char(1) not null,
    ehca_ehcp_assessment_exceptions boolean,  -- a flag, as SQL Server's bit
    last_modified_at timestamp(3) without time zone not null
);
insert into ssd_ehcp_assessment values
    (900000000000000001, 1234567890123456, '2024-06-28', 'Y', false, '2024-06-30 18:00:00'),
    (900000000000000002, 1234567890123457, null, 'A', null, '2024-06-30 18:00:00');

drop table ssd_ehcp_named_plan;
create table ssd_ehcp_named_plan (
    ehcn_named_plan_id bigint primary key,
    ehcn_ehcp_asmt_id numeric(18, 0) not null,
    ehcn_named_plan_start_date timestamp with time zone not null,  -- a date held as a UK midnight-ish instant
    ehcn_named_plan_ceased_date varchar(10),  -- a date held as text
    ehcn_named_plan_ceased_reason integer,  -- SEN2 CeaseReason code, NULL while the plan is active
    last_modified_at timestamp with time zone not null
);
insert into ssd_ehcp_named_plan values
    -- 00:30 on 1 July in UK summer time is still 30 June in UTC
    (5000000001, 900000000000000001, '2024-07-01 00:30:00+01', null, null, '2024-07-01 00:30:00+01'),
    (5000000002, 900000000000000002, '2023-01-10 00:00:00+00', '2024-06-30', 1, '2024-06-30 21:00:00+01');
"""


@pytest.fixture
def typed_source(pg_url):
    write_tables(pg_url, {})  # every contract table, empty, as the synthetic source types them
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        for statement in DDL.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
    yield pg_url, engine
    engine.dispose()


def _source(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.exec_driver_sql(sql).fetchall()]


@pytest.mark.parametrize("chunk_rows", [50_000, 1], ids=["one-chunk", "a-row-a-chunk"])
def test_typed_values_land_as_the_source_meant_them(typed_source, tmp_path, key, chunk_rows):
    url, engine = typed_source
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    manifest = extract.extract(url, AREA, tmp_path / "landing", key, run_id="run-1", chunk_rows=chunk_rows)
    load.load_batch(con, manifest)

    # Identifiers: the hash of the source's own text, never of "1234567890123.0" (a float with NULLs).
    expected = {
        (
            identifiers.pseudonymise(key, "la_person_id", person, AREA),
            None if nhs is None else identifiers.pseudonymise(key, "nhs_number", nhs),
        )
        for person, nhs in _source(engine, "select pers_person_id::text, pers_common_child_id::text from ssd_person")
    }
    landed = con.execute("select pers_person_id_hash, pers_common_child_id_hash from raw_la_case_management.ssd_person")
    assert set(landed.fetchall()) == expected and len(expected) == 2

    # Numeric and bigint ids as the source writes them; a flag as the contract's code.
    assessments = _source(
        engine,
        "select ehca_ehcp_assessment_id::text, ehca_ehcp_request_id::text, ehca_ehcp_assessment_outcome_date, "
        "ehca_ehcp_assessment_exceptions::int::text from ssd_ehcp_assessment order by 1",
    )
    landed = con.execute(
        "select ehca_ehcp_assessment_id, ehca_ehcp_request_id, ehca_ehcp_assessment_outcome_date, "
        "ehca_ehcp_assessment_exceptions from raw_la_case_management.ssd_ehcp_assessment order by 1"
    ).fetchall()
    assert landed == assessments

    # Dates: the UK calendar date of a timestamptz (not its UTC date), a text date parsed; codes as written.
    plans = _source(
        engine,
        "select ehcn_named_plan_id::text, ehcn_ehcp_asmt_id::text, "
        "(ehcn_named_plan_start_date at time zone 'Europe/London')::date, ehcn_named_plan_ceased_date::date, "
        "ehcn_named_plan_ceased_reason::text, (last_modified_at at time zone 'Europe/London') "
        "from ssd_ehcp_named_plan order by 1",
    )
    landed = con.execute(
        "select ehcn_named_plan_id, ehcn_ehcp_asmt_id, ehcn_named_plan_start_date, ehcn_named_plan_ceased_date, "
        "ehcn_named_plan_ceased_reason, last_modified_at from raw_la_case_management.ssd_ehcp_named_plan order by 1"
    ).fetchall()
    assert landed == plans
    assert [p[2].isoformat() for p in landed] == ["2024-07-01", "2023-01-10"]
    utc_dates = _source(
        engine, "select (ehcn_named_plan_start_date at time zone 'UTC')::date::text from ssd_ehcp_named_plan"
    )
    assert "2024-06-30" in {d for (d,) in utc_dates}  # the value the test is about: another day in UTC
    assert [p[4] for p in landed] == [None, "1"]

    rejected = con.execute("select source, field, reason from ops.rejected_rows").fetchall()
    assert rejected == []  # nothing typed was mistaken for a bad value ("1.0" an unknown code, ...)
    marks = {t.table: t.max_change_timestamp for t in load.landing.read_manifest(manifest).tables}
    assert marks["ssd_ehcp_named_plan"] == "2024-07-01T00:30:00"  # UK wall time, like every watermark
    assert marks["ssd_person"] == "2024-06-30T18:05:00.250000"


def test_a_change_timestamp_with_a_time_zone_is_read_from_the_uk_watermark(typed_source, tmp_path, key):
    url, engine = typed_source
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    load.load_batch(con, extract.extract(url, AREA, tmp_path / "landing", key, run_id="run-1"))
    marks = load.watermarks(con, extract.FEED, AREA)
    assert marks["ssd_ehcp_named_plan"] == "2024-07-01T00:30:00"
    with engine.begin() as conn:  # ceased 15 minutes after the watermark, UK time (23:45 UTC the day before)
        conn.exec_driver_sql(
            "update ssd_ehcp_named_plan set ehcn_named_plan_ceased_reason = 2, "
            "last_modified_at = '2024-07-01 00:45:00+01' where ehcn_named_plan_id = 5000000002"
        )
    manifest = extract.extract(
        url, AREA, tmp_path / "landing", key, run_id="run-2", watermarks=marks, mode="incremental"
    )
    load.load_batch(con, manifest)
    read = {t.table: t.rows_in for t in load.landing.read_manifest(manifest).tables}
    assert read["ssd_ehcp_named_plan"] == 2  # the change, and the row stamped at the watermark (>=)
    current = con.execute(
        "select ehcn_named_plan_id, ehcn_named_plan_ceased_reason from raw_la_case_management.ssd_ehcp_named_plan "
        "qualify row_number() over (partition by ehcn_named_plan_id order by last_modified_at desc) = 1 order by 1"
    ).fetchall()
    assert current == [("5000000001", None), ("5000000002", "2")]
