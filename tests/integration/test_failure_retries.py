"""Retries by failure class on the real DAG: `airflow dags test send_pipeline` with retries on
(SEND_TASK_RETRIES=2, a 1 s backoff), read back from Airflow's metadata DB and the alert log.

An LA source that drifted from its contract (a renamed column) is a data-quality failure: the extract
fails on its first try and alerts once. An LA database that does not answer is transient: the extract
spends its retries first. Either way the run stops before dbt, so each run takes seconds."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from devtools.environment import local_environment, prepare
from orchestration.settings import Settings
from synthetic.la_case_management import write_tables

pytestmark = pytest.mark.slow
AIRFLOW = str(Path(sys.executable).parent / "airflow")
EXTRACT = "extract_la_case_management"
# Midday logical dates: the same calendar day in UTC (the metadata DB) and in London (the run's as-of).
NOON_1, NOON_2 = "2024-07-01T12:00:00+01:00", "2024-07-02T12:00:00+01:00"


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    work = tmp_path_factory.mktemp("retries")
    env = {
        **os.environ,
        **local_environment(work),
        "SEND_TASK_RETRIES": "2",  # retries on, as in production
        "SEND_RETRY_DELAY_SECONDS": "1",
        "SEND_DFE_RELEASE_DIR": str(work / "no_dfe_release"),
    }
    Path(env["SEND_DFE_RELEASE_DIR"]).mkdir()
    prepare(env, work / "prepare.log")
    return env, work


def _run(env: dict, la_url: str, logical_date: str, log: Path) -> subprocess.CompletedProcess:
    connection = {"conn_type": "generic", "extra": {"sqlalchemy_url": la_url, "area_code": "E10000017"}}
    run_env = {**env, "AIRFLOW_CONN_LA_CASE_MANAGEMENT": json.dumps(connection)}
    command = [AIRFLOW, "dags", "test", "send_pipeline", logical_date]
    result = subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=600)
    log.write_text(result.stdout + result.stderr)
    return result


def _extract_attempt(env: dict, logical_date: str) -> tuple[str, int, int]:
    """(state, try_number, max_tries) of the LA extract in the run of that day, from the metadata DB."""
    db = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as con:
        [row] = con.execute(
            "select ti.state, ti.try_number, ti.max_tries from task_instance ti "
            "join dag_run dr on dr.run_id = ti.run_id and dr.dag_id = ti.dag_id "
            "where ti.task_id = ? and date(dr.logical_date) = ?",
            [EXTRACT, logical_date[:10]],
        ).fetchall()
    return row


def _failure_events(env: dict, logical_date: str) -> list[dict]:
    """Alerts and suppressed repeats of the run (owner notices about feeds without data are not failures)."""
    path = Settings.from_env(env).alerts_path
    events = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    day = logical_date[:10]
    return [e for e in events if e["event"] in ("alert", "suppressed") and e["logical_date"].startswith(day)]


def test_a_source_drifted_from_its_contract_fails_on_the_first_try_with_one_alert(airflow_env):
    env, work = airflow_env
    source = work / "drifted.sqlite"
    write_tables(f"sqlite:///{source}", {})  # every contract table, empty: a tiny source
    with sa.create_engine(f"sqlite:///{source}").begin() as conn:  # the LA renamed a column
        conn.exec_driver_sql("alter table ssd_ehcp_requests rename column ehcr_ehcp_req_date to ehcr_request_date")

    result = _run(env, f"sqlite:///{source}", NOON_1, work / "drift.log")

    assert result.returncode != 0
    state, try_number, max_tries = _extract_attempt(env, NOON_1)
    assert (state, try_number, max_tries) == ("failed", 1, 2)  # retries were on; none was spent
    [alert] = _failure_events(env, NOON_1)
    assert (alert["event"], alert["task_id"], alert["failure_class"]) == ("alert", EXTRACT, "data_quality")
    assert alert["try"] == "1 of 3" and alert["runbook"].endswith("data_quality.md")
    assert "ssd_ehcp_requests: columns missing from source: ehcr_ehcp_req_date" in alert["error"]
    assert "data_quality failure (ContractDriftError): not retried" in result.stdout + result.stderr


def test_a_source_that_does_not_answer_is_retried_before_it_alerts(airflow_env):
    env, work = airflow_env
    url = f"postgresql+psycopg2://send@127.0.0.1:{_closed_port()}/cms"  # the driver's connection is refused
    result = _run(env, url, NOON_2, work / "down.log")

    assert result.returncode != 0
    assert _extract_attempt(env, NOON_2) == ("failed", 3, 2)  # the first try and both retries
    [alert] = _failure_events(env, NOON_2)
    assert (alert["task_id"], alert["failure_class"], alert["try"]) == (EXTRACT, "transient", "3 of 3")


def _closed_port() -> int:
    """A loopback port that was free a moment ago: nothing listens there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
