"""send_pipeline: LA case management -> landing -> raw -> dbt marts -> Soda gate -> publish.

Write-audit-publish: dbt builds into the private build warehouse, Soda verifies it there, and only
then are the marts copied to the published file (atomic replace). DAG parsing does no I/O beyond
reading the prebuilt dbt manifest (Cosmos LoadMode.DBT_MANIFEST).
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

from orchestration import dag_defaults
from orchestration.settings import DBT_PROJECT_DIR, WAREHOUSE_POOL, Settings


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
    @task(pool=WAREHOUSE_POOL)
    def extract_la_case_management() -> str:
        import duckdb
        from airflow.sdk import BaseHook

        from ingestion import load
        from ingestion.la_case_management import extract
        from orchestration import connections

        settings = Settings.from_env()
        conn = BaseHook.get_connection(connections.LA_CASE_MANAGEMENT_CONN_ID)
        area_code = conn.extra_dejson.get("area_code", "E10000017")
        watermarks = {}
        if settings.build_path.exists():
            with duckdb.connect(str(settings.build_path)) as con:
                watermarks = load.watermarks(con, extract.FEED, area_code)
        manifest = extract.extract(
            connections.sqlalchemy_url(conn),
            area_code,
            settings.landing_dir,
            connections.pseudonymisation_key(),
            run_id=get_current_context()["run_id"],
            watermarks=watermarks,
        )
        return str(manifest)  # a path: no identifier ever goes to XCom

    @task(pool=WAREHOUSE_POOL)
    def load_la_case_management(manifest_path: str) -> int:
        from pathlib import Path

        import duckdb

        from ingestion import load

        settings = Settings.from_env()
        settings.build_path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(settings.build_path)) as con:
            return load.load_batch(con, Path(manifest_path))

    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json",
            install_dbt_deps=False,
        ),
        profile_config=ProfileConfig(
            profile_name="send", target_name="duckdb", profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml"
        ),
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER),
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.BUILD),
        operator_args={
            "vars": {"as_of": dag_defaults.AS_OF, "run_id": "{{ run_id }}"},
            "pool": WAREHOUSE_POOL,
            # A test spanning two nodes runs in the task of the later one, once both exist.
            "dbt_cmd_flags": ["--indirect-selection", "buildable"],
        },
    )

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

        from orchestration import connections
        from warehouse import ledger
        from warehouse.publish import Targets
        from warehouse.publish import publish as publish_marts

        context = get_current_context()
        settings = Settings.from_env()
        run = (context["run_id"], dag_defaults.as_of(context))
        with duckdb.connect(str(settings.build_path)) as con:
            # Recorded first so the published copy carries its own ledger row; undone if publishing fails.
            ledger.record_run(con, *run, "published", checks_run=quality_summary["checks"], checks_failed=0)
            targets = Targets(settings.published_path, settings.parquet_dir, connections.reporting_url())
            try:
                counts = publish_marts(con, targets)
            except Exception:
                ledger.record_run(con, *run, "publish_failed", checks_run=quality_summary["checks"], checks_failed=0)
                raise
        return {"duckdb": str(targets.duckdb_path), "postgres": bool(targets.postgres_url), "tables": counts}

    manifest = extract_la_case_management()
    loaded = load_la_case_management(manifest)
    checked = verify_quality()
    loaded >> dbt >> checked
    publish(checked)


send_pipeline()
