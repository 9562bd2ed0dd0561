"""Probe DAGs for the alert tests, built with the platform's own defaults and notifiers (airflow, DAG)."""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from orchestration import dag_defaults


@dag(
    dag_id="alert_probe_many",
    schedule=None,
    start_date=dag_defaults.START_DATE,
    default_args={**dag_defaults.DEFAULT_ARGS, "retries": 0},
    on_success_callback=dag_defaults.ON_SUCCESS,
    tags=["test"],
)
def alert_probe_many():
    @task
    def broken(n: int):
        raise RuntimeError(f"probe task {n} failed")

    for n in range(3):
        broken.override(task_id=f"broken_{n}")(n)


@dag(
    dag_id="alert_probe_retry",
    schedule=None,
    start_date=dag_defaults.START_DATE,
    default_args={**dag_defaults.DEFAULT_ARGS, "retries": 1},
    on_success_callback=dag_defaults.ON_SUCCESS,
    params={"failing_tries": 0},
    tags=["test"],
)
def alert_probe_retry():
    @task
    def flaky():
        context = get_current_context()
        if context["ti"].try_number <= int(context["params"]["failing_tries"]):
            raise TimeoutError("source did not answer in time")

    flaky()


alert_probe_many()
alert_probe_retry()
