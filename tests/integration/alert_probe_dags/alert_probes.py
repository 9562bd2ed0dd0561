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


@dag(
    dag_id="alert_probe_one_source_down",
    schedule=None,
    start_date=dag_defaults.START_DATE,
    default_args={**dag_defaults.DEFAULT_ARGS, "retries": 0},
    on_success_callback=dag_defaults.ON_SUCCESS,
    params={"down": ""},
    tags=["test"],
)
def alert_probe_one_source_down():
    """The pipeline's shape for a feed read per LA: a mapped extract, and a load that goes on when one fails."""

    @task
    def extract(area: str) -> str:
        if area == get_current_context()["params"]["down"]:
            raise ConnectionRefusedError(f"{area}: the database did not answer")
        return area

    @task(trigger_rule="all_done_min_one_success")
    def load(landed) -> int:
        return len(list(landed))

    load(extract.expand(area=["E06000008", "E06000009", "E10000017"]))


alert_probe_many()
alert_probe_retry()
alert_probe_one_source_down()
