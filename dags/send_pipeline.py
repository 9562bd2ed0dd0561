"""send_pipeline: every source (IG register first) -> landing -> raw -> dbt marts -> Soda gate -> publish.

Write-audit-publish: dbt builds into the private build warehouse, Soda verifies it there, and only
then are the marts copied to the published file (atomic replace). DAG parsing runs no dbt: the dbt
step is one `dbt build` task (the per-node modes render from the prebuilt manifest, LoadMode.DBT_MANIFEST).
"""

from __future__ import annotations

from airflow.sdk import TaskGroup, dag, get_current_context, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior
from cosmos.operators.local import DbtBuildLocalOperator

from orchestration import dag_defaults, feeds
from orchestration.settings import DBT_PRODUCTION_FLAGS, DBT_PROJECT_DIR, WAREHOUSE_POOL, Settings

# Environment, not --vars: dbt re-parses the whole project when --vars change (every run: the run id),
# only the files that use a changed env_var() otherwise (dbt_project/macros/run_context.sql).
DBT_ENV = {"SEND_AS_OF": dag_defaults.AS_OF, "SEND_RUN_ID": "{{ run_id }}"}
PROFILE = ProfileConfig(
    profile_name="send", target_name="duckdb", profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml"
)


def dbt_tasks(mode: str) -> TaskGroup:
    """The dbt step as a task group named `dbt`: `build` (one task running `dbt build`), `per_node`
    (a Cosmos task per dbt node) or `watcher` (Cosmos watcher mode). The DAG uses `build`; the others
    stay renderable so bench/cosmos_execution_modes.py can measure them again as the project grows."""
    if mode == "build":
        with TaskGroup(group_id="dbt") as group:
            # One `dbt build` of the whole project: dbt orders every test after all its parents (what
            # `--indirect-selection buildable` gave per node) and skips what sits below a failure.
            DbtBuildLocalOperator(
                task_id="build",
                project_dir=DBT_PROJECT_DIR,
                profile_config=PROFILE,
                invocation_mode=InvocationMode.DBT_RUNNER,
                env=DBT_ENV,
                dbt_cmd_flags=list(DBT_PRODUCTION_FLAGS),
                pool=WAREHOUSE_POOL,
            )
        return group
    watcher = mode == "watcher"
    if not watcher and mode != "per_node":
        raise ValueError(f"unknown dbt execution mode {mode!r} (build, per_node, watcher)")
    group = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json",
            install_dbt_deps=False,
            env_vars=DBT_ENV,
        ),
        profile_config=PROFILE,
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER if watcher else ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
            # Watcher: only the producer runs dbt; its per-node sensors stay out of the one-slot pool.
            setup_operator_args={"pool": WAREHOUSE_POOL} if watcher else None,
        ),
        # Watcher mode refuses TestBehavior.BUILD: tests become one sensor task per model.
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_EACH if watcher else TestBehavior.BUILD,
        ),
        operator_args={
            **({} if watcher else {"pool": WAREHOUSE_POOL}),
            # A test spanning two nodes runs in the task of the later one, once both exist.
            "dbt_cmd_flags": ["--indirect-selection", "buildable", *DBT_PRODUCTION_FLAGS],
        },
    )
    if watcher:
        # Sensors start once the producer's build is done: dag.test() runs one task at a time, so a
        # sensor started first would wait forever for a producer that never gets its turn.
        producer = group.children[f"{group.group_id}.dbt_producer_watcher"]
        for child in list(group.children.values()):
            if child is not producer and not child.upstream_list:
                producer >> child
    return group


@dag(
    dag_id="send_pipeline",
    description="Extract SEND sources, build and check the KPI marts, publish them",
    schedule=dag_defaults.DAILY_AT_6,
    start_date=dag_defaults.START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=dag_defaults.DEFAULT_ARGS,
    on_success_callback=dag_defaults.ON_SUCCESS,
    tags=["send", "warehouse", "priority-ii"],
    doc_md=__doc__,
)
def send_pipeline():
    # One extract/load pair per source system. Extract consults the IG register first: a blocked
    # feed is not touched, its owner is told once and its KPIs fall back; nothing personal reaches XCom
    # (a manifest path). Load is idempotent per batch and judges each feed's freshness.
    loads = []
    for source in feeds.SOURCES:
        manifest = task(feeds.extract_task, task_id=f"extract_{source}", pool=WAREHOUSE_POOL)(source)
        loads.append(task(feeds.load_task, task_id=f"load_{source}", pool=WAREHOUSE_POOL)(source, manifest))

    dbt = dbt_tasks("build")  # measured against per_node and watcher: README, "dbt execution mode"

    @task(pool=WAREHOUSE_POOL, multiple_outputs=False)
    def verify_quality() -> dict:
        import duckdb

        from warehouse import ledger, quality

        context = get_current_context()
        settings = Settings.from_env()
        with duckdb.connect(str(settings.build_path)) as con:
            try:
                results = quality.gate(con, settings.soda_contracts_dir, context["run_id"])
            except quality.DataQualityError as error:
                ledger.record_run(
                    con,
                    context["run_id"],
                    dag_defaults.as_of(context),
                    "failed_quality",
                    checks_run=error.checked,
                    checks_failed=len(error.failed),
                )
                raise
        return {"checks": len(results), "warned": sum(r.outcome == "warned" for r in results)}

    @task(pool=WAREHOUSE_POOL, multiple_outputs=False)
    def publish(quality_summary: dict) -> dict:
        import duckdb
        from airflow.sdk.exceptions import AirflowSkipException

        from orchestration import connections
        from warehouse import ledger
        from warehouse.publish import Targets
        from warehouse.publish import publish as publish_marts

        context = get_current_context()
        settings = Settings.from_env()
        run = (context["run_id"], dag_defaults.as_of(context))
        with duckdb.connect(str(settings.build_path)) as con:
            # A rerun of a past date (backfill, cleared run) never takes the published marts back in time.
            newest = (
                con.execute("select max(logical_date) from ops.pipeline_runs where status = 'published'").fetchone()[0]
                if ledger.has_ops_table(con, "pipeline_runs")
                else None
            )
            if newest is not None and newest.isoformat() > run[1]:
                ledger.record_run(con, *run, "superseded", checks_run=quality_summary["checks"], checks_failed=0)
                raise AirflowSkipException(f"published marts are as of {newest}, newer than this run's {run[1]}")
            # Recorded first so the published copy carries its own ledger row; undone if publishing fails.
            ledger.record_run(con, *run, "published", checks_run=quality_summary["checks"], checks_failed=0)
            targets = Targets(settings.published_path, settings.parquet_dir, connections.reporting_url())
            try:
                counts = publish_marts(con, targets)
            except Exception:
                ledger.record_run(con, *run, "publish_failed", checks_run=quality_summary["checks"], checks_failed=0)
                raise
        return {"duckdb": str(targets.duckdb_path), "postgres": bool(targets.postgres_url), "tables": counts}

    checked = verify_quality()
    loads >> dbt >> checked
    publish(checked)


send_pipeline()
