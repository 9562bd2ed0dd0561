"""The DAG's dbt step: a plan of what to build (what changed since the last complete build, or the whole
project: orchestration/build_plan.py), then one `dbt build` of it (Cosmos, in-process dbt runner).

Chosen by measurement against a task per dbt node and Cosmos's watcher mode (README, "dbt execution
mode"); bench/cosmos_execution_modes.py renders those modes and measures them again.
"""

from __future__ import annotations

from airflow.sdk import TaskGroup, task
from cosmos import ProfileConfig
from cosmos.constants import InvocationMode
from cosmos.operators.local import DbtBuildLocalOperator

from orchestration import dag_defaults, tasks
from orchestration.settings import DBT_PRODUCTION_FLAGS, DBT_PROJECT_DIR, WAREHOUSE_POOL

# Environment, not --vars: dbt re-parses the whole project when --vars change (every run: the run id);
# these are read only when dbt executes, so a new run re-parses nothing (dbt_project/macros/run_context.sql).
DBT_ENV = {
    "SEND_AS_OF": dag_defaults.AS_OF,
    "SEND_RUN_ID": "{{ run_id }}",
    "SEND_BUILD_PLAN": "{{ ti.xcom_pull(task_ids='dbt.plan')['plan_id'] }}",  # dbt's hooks record it
}
PROFILE = ProfileConfig(
    profile_name="send", target_name="duckdb", profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml"
)


def dbt_build() -> TaskGroup:
    """A task group `dbt`: `plan`, then `build` of what it selected. dbt orders every test after its
    parents and skips what sits below a failure; a retry builds the same selection again (every model
    is a replaced table, or an incremental one whose pre-hook delete and insert commit together)."""
    with TaskGroup(group_id="dbt") as group:
        planned = task(tasks.plan_build, task_id="plan", pool=WAREHOUSE_POOL)()
        planned >> DbtBuildLocalOperator(
            task_id="build",
            project_dir=DBT_PROJECT_DIR,
            profile_config=PROFILE,
            invocation_mode=InvocationMode.DBT_RUNNER,
            env=DBT_ENV,
            select="{{ ti.xcom_pull(task_ids='dbt.plan')['select'] }}",
            dbt_cmd_flags=list(DBT_PRODUCTION_FLAGS),
            pool=WAREHOUSE_POOL,
        )
    return group
