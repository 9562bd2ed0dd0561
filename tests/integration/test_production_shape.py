"""The pipeline DAG in its production shape, natively: api-server, scheduler, dag-processor and a Celery
worker as separate processes on the machine's PostgreSQL (metadata, Celery results, reporting) and Redis
(broker). Skips, saying why, when either server is not running."""

from __future__ import annotations

import json
import os
import time
import uuid

import duckdb
import pandas as pd
import psutil
import pytest
import sqlalchemy as sa

from devtools.environment import local_environment, prepare
from ingestion.contract import load_contract
from ingestion.la_case_management.extract import FEED
from ingestion.load import raw_schema
from orchestration.settings import Settings
from synthetic.la_case_management import write_tables
from tests.integration.native_airflow import (
    NativeAirflow,
    celery_executor_unusable,
    forget_queue,
    free_port,
    production_overrides,
    redis_unreachable,
)
from tests.integration.test_pipeline_dag import _kpis, _source_frames

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
DAG_ID = "send_pipeline"
RUN_TIMEOUT = 360  # seconds per DAG run


@pytest.fixture(scope="module")
def stack(tmp_path_factory, module_pg_url):
    if reason := redis_unreachable():
        pytest.skip(reason)
    if problem := celery_executor_unusable():
        # A product bug, not a missing server: the scheduler and workers would crash the same way.
        pytest.fail(f"{problem}. Pin a celery release the provider supports in pyproject.toml.")
    started = time.monotonic()
    work = tmp_path_factory.mktemp("production-shape")
    source_url = f"sqlite:///{work / 'cms.sqlite'}"
    write_tables(source_url, _source_frames())
    reporting_url = _create_database(module_pg_url, "reporting")
    queue = f"send_test_{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        **local_environment(work),
        **production_overrides(module_pg_url, queue, free_port()),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # Only the runs the tests trigger: unpaused, the schedule would add one for today at once.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        # A restarted scheduler looks for tasks its dead predecessor queued within seconds, not 5 min.
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "20",
        "AIRFLOW_CONN_LA_CASE_MANAGEMENT": json.dumps(
            {"conn_type": "generic", "extra": {"sqlalchemy_url": source_url, "area_code": "E10000017"}}
        ),
        "AIRFLOW_CONN_SEND_REPORTING": json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": reporting_url}}),
        # Every path under the test's folder, whatever the calling shell has set.
        "SEND_LANDING_DIR": str(work / "data" / "landing"),
        "SEND_WAREHOUSE_PUBLISHED_PATH": str(work / "published" / "send.duckdb"),
        "SEND_PUBLISHED_PARQUET_DIR": str(work / "published" / "parquet"),
        "SEND_ALERTS_PATH": str(work / "data" / "alerts.jsonl"),
    }
    env.pop("SEND_TASK_RETRIES", None)  # production retries: the real scheduler handles them
    airflow = NativeAirflow(env, work)
    try:
        prepare(env, work / "prepare.log")
        airflow.start("api-server", "api-server")
        airflow.start("scheduler", "scheduler")
        airflow.start("dag-processor", "dag-processor")
        airflow.start("worker", "celery", "worker", "--queues", queue, "--concurrency", "2",
                      "--celery-hostname", f"{queue}@%h", "--without-gossip", "--without-mingle")  # fmt: skip
        airflow.wait_healthy()
        airflow.wait_dag_parsed(DAG_ID)
        print(f"stack up in {time.monotonic() - started:.0f}s (logs in {work})")
        yield airflow, Settings.from_env(env), source_url
    finally:
        airflow.stop_all()
        _drop_database(module_pg_url, reporting_url)
        forget_queue(queue)
        leftovers = _processes_of(env["AIRFLOW_HOME"])
        for proc in leftovers:
            proc.kill()
        assert not leftovers, f"processes left running after teardown: {[p.cmdline() for p in leftovers]}"
        print(f"module wall time {time.monotonic() - started:.0f}s")


def _create_database(pg_url: str, suffix: str) -> str:
    url = sa.make_url(pg_url)
    name = f"{url.database}_{suffix}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"create database {name}")
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_database(pg_url: str, url: str) -> None:
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"drop database if exists {sa.make_url(url).database} with (force)")
    engine.dispose()


def _processes_of(airflow_home: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("AIRFLOW_HOME") == airflow_home:
                found.append(proc)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return found


def _run(airflow: NativeAirflow, logical_date: str, run_id: str, **wait) -> str:
    started = time.monotonic()
    airflow.trigger(DAG_ID, logical_date, run_id)
    state = airflow.wait_run(DAG_ID, run_id, RUN_TIMEOUT, **wait)
    print(f"{run_id}: {state} after {time.monotonic() - started:.0f}s")
    return state


@pytest.mark.timeout(900)
def test_pipeline_completes_through_scheduler_and_celery_worker(stack):
    airflow, settings, _ = stack
    run_id = "prod_shape_2024_07_01"
    state = _run(airflow, "2024-07-01T06:00:00+01:00", run_id)
    assert state == "success", airflow.describe(DAG_ID, run_id)

    kpis = _kpis(settings.published_path).set_index(["kpi_code", "period_start"])
    may = pd.Timestamp("2024-05-01")
    assert tuple(kpis.loc[("EHCP_20WK_ALL", may), ["numerator", "denominator"]]) == (3, 5)
    assert tuple(kpis.loc[("EHCP_20WK_EXCL", may), ["numerator", "denominator"]]) == (2, 3)

    # Every task went through the queue to the Celery worker: it logs each Celery task id it runs.
    tis = airflow.task_instances(DAG_ID, run_id)
    assert any(ti["task_id"].startswith("dbt.") for ti in tis) and all(ti["state"] == "success" for ti in tis)
    queue = airflow.env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]
    worker_log = airflow.log_path("worker").read_text(errors="replace").splitlines()
    for ti in tis:
        assert ti["queue"] == queue and ti["external_executor_id"], ti
        ran = [line for line in worker_log if f"[{ti['external_executor_id']}] Executing workload in Celery" in line]
        assert len(ran) == 1 and f"task_id='{ti['task_id']}'" in ran[0], ti


@pytest.mark.timeout(900)
def test_scheduler_killed_mid_run_and_restarted_completes_without_duplicates(stack):
    airflow, settings, source_url = stack
    _touch_source(source_url)  # a second batch with rows in it, so duplicates would show
    run_id = "prod_shape_2024_07_02"

    def dbt_under_way(tis: list[dict]) -> bool:
        return any(ti["task_id"].startswith("dbt.") and ti["state"] in ("running", "success") for ti in tis)

    state = _run(airflow, "2024-07-02T06:00:00+01:00", run_id, until=dbt_under_way)
    assert state not in ("success", "failed"), f"run finished ({state}) before the scheduler could be killed"
    airflow.kill("scheduler")
    killed_at = airflow.task_instances(DAG_ID, run_id)
    airflow.start("scheduler", "scheduler")
    state = airflow.wait_run(DAG_ID, run_id, RUN_TIMEOUT)
    assert state == "success", f"tasks when killed: {killed_at}\n{airflow.describe(DAG_ID, run_id)}"
    print("when killed:", {ti["task_id"]: ti["state"] for ti in killed_at if ti["state"]})
    print("tries:", {ti["task_id"]: ti["try_number"] for ti in airflow.task_instances(DAG_ID, run_id)})

    _assert_no_duplicates(settings, run_id)


def _touch_source(source_url: str) -> None:
    """Rewrite the source with a later change stamp: same facts, so the KPIs stay as hand-worked."""
    frames = _source_frames()
    for frame in frames.values():
        frame["last_modified_at"] = pd.Timestamp("2024-07-01 18:00")
    write_tables(source_url, frames)


def _assert_no_duplicates(settings: Settings, run_id: str) -> None:
    contract = load_contract(FEED)
    schema = raw_schema(FEED)
    with duckdb.connect(str(settings.build_path), read_only=True) as con:
        batches = con.execute(
            "select batch_id, source_table, run_id, rows_loaded from ops.loaded_batches where feed = ? order by run_id",
            [FEED],
        ).fetchall()
        assert batches, "no batch recorded"
        per_run = con.execute(
            "select run_id, feed, count(distinct batch_id) from ops.loaded_batches group by 1, 2"
        ).fetchall()
        assert all(n == 1 for _, _, n in per_run), f"a run loaded more than one batch of a feed: {per_run}"
        assert len({(b, t) for b, t, _, _ in batches}) == len(batches), "a batch recorded twice"
        listed = con.execute("select table_name from information_schema.tables where table_schema = ?", [schema])
        tables = {t for (t,) in listed.fetchall()}
        assert {"ssd_person", "ssd_ehcp_requests", "ssd_ehcp_assessment"} <= tables
        for table in sorted(tables & set(contract.tables)):  # deleted_keys is the load's own table
            spec = contract.tables[table]
            # Landed identifiers are hashed into `<column>_hash`; area_code scopes the key.
            key = ["area_code", *(f"{k}_hash" if spec.columns[k].identifier else k for k in spec.primary_key)]
            dupes = con.execute(
                f"select {', '.join(key)}, _batch_id, count(*) from {schema}.{table} group by all having count(*) > 1"
            ).fetchall()
            assert not dupes, f"{schema}.{table}: duplicated rows {dupes[:5]}"
            counts = dict(con.execute(f"select _batch_id, count(*) from {schema}.{table} group by 1").fetchall())
            loaded = {b: n for b, t, _, n in batches if t == table and n}
            assert counts == loaded, f"{schema}.{table}: rows per batch {counts} != recorded {loaded}"
        assert sum(n for *_, r, n in batches if r == run_id) > 0, "the run under test loaded no rows"
        ledger = con.execute("select status from ops.pipeline_runs where run_id = ?", [run_id]).fetchall()
        assert ledger == [("published",)]
    kpis = _kpis(settings.published_path)
    grain = ["kpi_code", "area_code", "period_start", "period_type"]
    assert not kpis.duplicated(grain).any(), kpis[kpis.duplicated(grain, keep=False)]
    may = kpis.set_index(["kpi_code", "period_start"]).loc[("EHCP_20WK_ALL", pd.Timestamp("2024-05-01"))]
    assert (may.numerator, may.denominator) == (3, 5)
