"""Team rules written as tests: every DAG imports cleanly, fast, and carries owner, tags, retries and an alert."""

from __future__ import annotations


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "send_pipeline" in dagbag.dags


def test_every_dag_follows_the_team_rules(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.owner not in ("", "airflow"), dag_id
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.max_active_runs == 1, f"{dag_id} may run twice at once"
        assert str(dag.timezone) in ("Europe/London", "Timezone('Europe/London')"), dag_id
        assert dag.on_success_callback, f"{dag_id} sends no recovery notice"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"
            assert task.on_failure_callback, f"{dag_id}.{task.task_id} has no failure alert"
            assert task.execution_timeout is not None, f"{dag_id}.{task.task_id} has no timeout"


def test_warehouse_writers_share_one_pool(dagbag):
    from orchestration.settings import WAREHOUSE_POOL

    dag = dagbag.dags["send_pipeline"]
    assert {t.pool for t in dag.tasks} == {WAREHOUSE_POOL}


def test_dbt_models_are_rendered_from_the_manifest(dagbag):
    dag = dagbag.dags["send_pipeline"]
    task_ids = set(dag.task_ids)
    assert {"dbt.kpi_definitions_seed_build", "dbt.kpi_values_model_build"} <= task_ids
    assert {"extract_la_case_management", "load_la_case_management", "verify_quality", "publish"} <= task_ids
