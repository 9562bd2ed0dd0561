"""The real DAG, run with `airflow dags test`, on a source whose right answers are worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from devtools.environment import prepare
from orchestration.settings import Settings
from synthetic.la_case_management import write_tables

pytestmark = pytest.mark.slow
AIRFLOW = str(Path(sys.executable).parent / "airflow")
NHS = ["9434765919", "4010232137", "9990000018", "9990000026", "9990000034", "9990000042", "9990000050",
       "9990000069", "9990000077", "9990000085"]  # fmt: skip


def _cases() -> list[dict]:
    """One request per line: received date, decision, assessment outcome, issue date, exception.
    Days are counted from the received date; day 140 is the 20-week deadline."""
    d = dt.date
    return [
        # id,  received,        decision, outcome, issued/decided,   exception
        ("R1", d(2024, 1, 1), "Y", "Y", d(2024, 5, 20), "0"),  # day 140: on time
        ("R2", d(2024, 1, 1), "Y", "Y", d(2024, 5, 21), "0"),  # day 141: late
        ("R3", d(2023, 10, 19), "Y", "Y", d(2024, 5, 5), "1"),  # day 199, across the year end, exception
        ("R4", d(2024, 2, 1), "W", None, None, None),  # withdrawn before a decision
        ("R5", d(2024, 2, 1), "Y", "A", None, "0"),  # still open at the period end
        ("R6", d(2024, 1, 15), "Y", "Y", d(2024, 5, 10), "1"),  # day 116, on time, exception
        ("R7", d(2024, 1, 10), "Y", "Y", d(2024, 5, 1), "0"),  # day 112: on time
        ("R8", d(2024, 1, 10), "Y", "N", d(2024, 5, 15), "0"),  # decided not to issue: not timed
        ("R9", d(2024, 2, 1), "Y", "Y", d(2024, 6, 29), "0"),  # day 149, June: late
        ("R10", d(2024, 2, 1), "Z", None, None, None),  # unknown code: rejected with a reason
    ]


def _source_frames() -> dict[str, pd.DataFrame]:
    cases = _cases()
    stamp = pd.Timestamp("2024-06-30 18:00")
    ids = [c[0] for c in cases]
    person = pd.DataFrame(
        {
            "pers_person_id": [f"P{i}" for i in ids],
            "pers_common_child_id": NHS,
            "pers_sex": "F",
            "pers_dob": dt.date(2014, 3, 9),
            "pers_postcode": "PR1 2AB",
            "last_modified_at": stamp,
        }
    )
    send = pd.DataFrame(
        {"send_table_id": [f"S{i}" for i in ids], "send_person_id": person["pers_person_id"], "last_modified_at": stamp}
    )
    requests = pd.DataFrame(
        {
            "ehcr_ehcp_request_id": ids,
            "ehcr_send_table_id": send["send_table_id"],
            "ehcr_ehcp_req_date": [c[1] for c in cases],
            "ehcr_ehcp_req_outcome_date": [c[1] + dt.timedelta(days=35) if c[2] in "YN" else None for c in cases],
            "ehcr_ehcp_req_outcome": [c[2] for c in cases],
            "last_modified_at": stamp,
        }
    )
    assessed = [c for c in cases if c[3]]
    assessment = pd.DataFrame(
        {
            "ehca_ehcp_assessment_id": [f"A{c[0]}" for c in assessed],
            "ehca_ehcp_request_id": [c[0] for c in assessed],
            "ehca_ehcp_assessment_outcome": [c[3] for c in assessed],
            "ehca_ehcp_assessment_outcome_date": [c[4] for c in assessed],
            "ehca_ehcp_assessment_exceptions": [c[5] for c in assessed],
            "last_modified_at": stamp,
        }
    )
    return {"ssd_person": person, "ssd_send": send, "ssd_ehcp_requests": requests, "ssd_ehcp_assessment": assessment}


def _send_request_twice(source_url: str, request_id: str) -> None:
    """The source sends one request id on two rows (a system without the key constraint, or a view
    joining tables). SQLite cannot drop the primary key the synthetic writer creates, so the table is
    copied without it (CREATE TABLE AS keeps no constraint) before the row is written again."""
    import sqlalchemy as sa

    engine = sa.create_engine(source_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("create table requests_copy as select * from ssd_ehcp_requests")
        conn.exec_driver_sql("drop table ssd_ehcp_requests")
        conn.exec_driver_sql("alter table requests_copy rename to ssd_ehcp_requests")
        conn.execute(
            sa.text("insert into ssd_ehcp_requests select * from ssd_ehcp_requests where ehcr_ehcp_request_id = :r"),
            {"r": request_id},
        )
    engine.dispose()


def _run_dag(env: dict, logical_date: str, log: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [AIRFLOW, "dags", "test", "send_pipeline", logical_date], env=env, capture_output=True, text=True, timeout=900
    )
    log.write_text(result.stdout + result.stderr)
    return result


@pytest.fixture(scope="module")
def pipeline_run(session_dir, tmp_path_factory, module_pg_url):
    work = tmp_path_factory.mktemp("pipeline")
    source_url = f"sqlite:///{work / 'cms.sqlite'}"
    write_tables(source_url, _source_frames())
    # R4 (withdrawn, never assessed) counts in none of the KPIs asserted below: rejecting both its rows
    # leaves every hand-worked figure as it is.
    _send_request_twice(source_url, "R4")
    env = {
        **os.environ,
        "SEND_TASK_RETRIES": "0",  # fail fast: a failing run should not sit out the backoff
        "SEND_DATA_DIR": str(work / "data"),
        "SEND_WAREHOUSE_BUILD_PATH": str(work / "data" / "warehouse" / "build.duckdb"),
        "SEND_ALERTS_PATH": str(work / "data" / "alerts.jsonl"),
        "AIRFLOW_CONN_LA_CASE_MANAGEMENT": json.dumps(
            {"conn_type": "generic", "extra": {"sqlalchemy_url": source_url, "area_code": "E10000017"}}
        ),
        "AIRFLOW_CONN_SEND_REPORTING": json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": module_pg_url}}),
    }
    prepare(env, work / "prepare.log")
    result = _run_dag(env, "2024-07-01", work / "airflow.log")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return Settings.from_env(env), env, result.stdout + result.stderr


def _kpis(published: Path, area_types: tuple[str, ...] = ("la",)) -> pd.DataFrame:
    """The published KPI rows of the LA (by default), or also of its localities."""
    with duckdb.connect(str(published), read_only=True) as con:
        return con.execute(
            "select * from marts.kpi_values where area_type in ? order by kpi_code, area_code, period_start",
            [list(area_types)],
        ).df()


def test_may_2024_twenty_week_kpis_match_the_hand_count(pipeline_run):
    settings, _, _ = pipeline_run
    kpis = _kpis(settings.published_path).set_index(["kpi_code", "period_start"])
    may = pd.Timestamp("2024-05-01")
    # Issued in May: R1 (140 d), R2 (141), R3 (199, exc), R6 (116, exc), R7 (112) -> on time R1, R6, R7.
    all_cases = kpis.loc[("EHCP_20WK_ALL", may)]
    assert (all_cases.numerator, all_cases.denominator) == (3, 5)
    assert all_cases.value == pytest.approx(60.0)
    # Excluding exceptions (R3, R6) from both: R1, R2, R7 -> on time R1, R7.
    excl = kpis.loc[("EHCP_20WK_EXCL", may)]
    assert (excl.numerator, excl.denominator) == (2, 3)
    assert excl.value == pytest.approx(200 / 3)
    assert all_cases.provenance == excl.provenance == "feed"
    # Catalogue seed: target 60, amber from 45. Exactly on the target counts as met.
    assert all_cases.rag == "green" and excl.rag == "green"


def test_other_months_zero_and_missing_are_told_apart(pipeline_run):
    settings, _, _ = pipeline_run
    kpis = _kpis(settings.published_path).set_index(["kpi_code", "period_start"])
    june = kpis.loc[("EHCP_20WK_ALL", pd.Timestamp("2024-06-01"))]  # R9, day 149
    assert (june.numerator, june.denominator, june.value, june.rag) == (0, 1, 0.0, "red")
    april = kpis.loc[("EHCP_20WK_ALL", pd.Timestamp("2024-04-01"))]  # nothing issued: no value, not a zero
    assert (april.denominator, april.provenance) == (0, "feed") and pd.isna(april.value)
    before = kpis.loc[("EHCP_20WK_ALL", pd.Timestamp("2023-09-01"))]  # before the feed's first request
    assert before.provenance == "missing" and pd.isna(before.value) and pd.isna(before.numerator)
    assert kpis.index.get_level_values("period_start").max() == pd.Timestamp("2024-06-01")  # complete months only


def test_rows_are_accounted_for_and_rejects_kept_with_reason(pipeline_run):
    settings, _, _ = pipeline_run
    with duckdb.connect(str(settings.build_path), read_only=True) as con:
        per_feed = con.execute(
            "select feed, sum(rows_in), sum(rows_loaded), sum(rows_rejected) from ops.loaded_batches group by feed"
        ).fetchall()
        requests = con.execute(
            "select rows_in, rows_loaded, rows_rejected from ops.loaded_batches "
            "where source_table = 'ssd_ehcp_requests'"
        ).fetchall()
        reasons = con.execute(
            "select source, row_number, record_key, field, reason from ops.rejected_rows "
            "where feed = 'la_case_management' order by row_number"
        ).fetchall()
        r4_loaded = con.execute(
            "select count(*) from raw_la_case_management.ssd_ehcp_requests where ehcr_ehcp_request_id = 'R4'"
        ).fetchone()
    for _, rin, loaded, rejected in per_feed:  # every feed, the DfE release included
        assert rin == loaded + rejected
    assert [rejected for feed, _, _, rejected in per_feed if feed == "la_case_management"] == [3]
    # Read in key order: R1, R10, R2, R3, R4, R4, R5 ... (11 rows): R10 has an unknown code, both R4 rows share a key.
    assert requests == [(11, 8, 3)]
    repeated = "primary key repeated at source: 2 rows share it; none loaded until the source is fixed"
    assert reasons == [
        ("la_case_management.ssd_ehcp_requests", 2, "R10", "ehcr_ehcp_req_outcome",
         "unknown code 'Z' (allowed: Y, N, A, W, H)"),
        ("la_case_management.ssd_ehcp_requests", 5, "R4", "ehcr_ehcp_request_id", repeated),
        ("la_case_management.ssd_ehcp_requests", 6, "R4", "ehcr_ehcp_request_id", repeated),
    ]  # fmt: skip
    assert r4_loaded == (0,)


def test_quality_results_and_ledger_are_published(pipeline_run):
    settings, _, _ = pipeline_run
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        outcomes = dict(con.execute("select outcome, count(*) from ops.data_quality_results group by 1").fetchall())
        run = con.execute("select status, checks_failed from ops.pipeline_runs").fetchall()
    assert outcomes.get("passed", 0) >= 10 and "failed" not in outcomes
    assert run == [("published", 0)]  # published although the source repeated a key (rejected at extract)
    assert settings.published_path.is_file()


def test_no_raw_identifier_survives_anywhere(pipeline_run):
    settings, env, output = pipeline_run
    places = [settings.data_dir, Path(env["AIRFLOW_HOME"])]
    files = [p for place in places for p in place.rglob("*") if p.is_file() and "source" not in p.parts]
    files = [p for p in files if p.name != "cms.sqlite"]
    assert any(p.suffix == ".parquet" for p in files) and any(p.suffix == ".duckdb" for p in files)
    for path in files:
        blob = path.read_bytes()
        for number in NHS:
            assert number.encode() not in blob, f"raw NHS number in {path}"
    assert not any(number in output for number in NHS)


def _published_digests(settings: Settings, pg_url: str) -> dict:
    import hashlib

    import sqlalchemy as sa

    files = [settings.published_path, *sorted(settings.parquet_dir.resolve().rglob("*.parquet"))]
    digests = {str(p.name): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        digests["postgres"] = conn.exec_driver_sql(
            "select md5(string_agg(t::text, '|' order by kpi_code, area_code, period_start)) "
            "from send_reporting.kpi_values t"
        ).scalar()
    engine.dispose()
    return digests


def test_published_to_postgres_and_parquet_too(pipeline_run, module_pg_url):
    settings, _, _ = pipeline_run
    duck = _kpis(settings.published_path, ("la", "locality"))
    parquet = duckdb.sql(f"select * from '{settings.parquet_dir}/marts/kpi_values.parquet'").df()
    import sqlalchemy as sa

    with sa.create_engine(module_pg_url).connect() as conn:
        pg_rows = conn.exec_driver_sql("select count(*), sum(numerator) from send_reporting.kpi_values").one()
    assert len(parquet) == len(duck) == pg_rows[0]
    assert int(pg_rows[1]) == int(duck["numerator"].sum()) == int(parquet["numerator"].sum())


def test_failed_check_publishes_nothing_and_alerts_once(pipeline_run, module_pg_url, tmp_path):
    settings, env, _ = pipeline_run
    before = _published_digests(settings, module_pg_url)
    strict = tmp_path / "contracts"
    shutil.copytree(settings.soda_contracts_dir, strict)
    contract = strict / "marts" / "kpi_values.yml"
    contract.write_text(contract.read_text().replace("must_be_greater_than: 0", "must_be_greater_than: 1000000"))
    alerts_before = settings.alerts_path.read_text().splitlines() if settings.alerts_path.exists() else []

    result = _run_dag({**env, "SEND_SODA_CONTRACTS_DIR": str(strict)}, "2024-07-02", tmp_path / "airflow.log")

    assert result.returncode != 0
    assert _published_digests(settings, module_pg_url) == before
    events = [json.loads(line) for line in settings.alerts_path.read_text().splitlines()[len(alerts_before) :]]
    # Feeds with no data (no ICB files, no manual returns here) give owner notices: not failure alerts.
    alerts = [e for e in events if e["event"] != "owner_notice"]
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert["task_id"], alert["failure_class"]) == ("verify_quality", "data_quality")
    assert "Row count meets expected threshold" in alert["error"]
    assert alert["runbook"] == "docs/runbooks/data_quality.md"
    with duckdb.connect(str(settings.build_path), read_only=True) as con:
        ledger = con.execute("select status, checks_failed from ops.pipeline_runs order by recorded_at").fetchall()
    assert ledger == [("published", 0), ("failed_quality", 1)]
