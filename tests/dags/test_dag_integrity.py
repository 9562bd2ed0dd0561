"""Team rules written as tests: every DAG imports cleanly, fast, and carries owner, tags, retries by failure
class and an alert."""

from __future__ import annotations


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "send_pipeline" in dagbag.dags


def test_every_dag_follows_the_team_rules(dagbag):
    from orchestration.retry import FailureClassRetryPolicy

    for dag_id, dag in dagbag.dags.items():
        assert dag.owner not in ("", "airflow"), dag_id
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.max_active_runs == 1, f"{dag_id} may run twice at once"
        assert str(dag.timezone) in ("Europe/London", "Timezone('Europe/London')"), dag_id
        assert dag.on_success_callback, f"{dag_id} sends no recovery notice"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"
            # Only transient failures may spend them (docs/runbooks): @task, Cosmos and plain operators alike.
            assert isinstance(task.retry_policy, FailureClassRetryPolicy), f"{dag_id}.{task.task_id}: no retry policy"
            assert task.on_failure_callback, f"{dag_id}.{task.task_id} has no failure alert"
            assert task.execution_timeout is not None, f"{dag_id}.{task.task_id} has no timeout"


def test_the_scheduler_sees_every_task_has_a_retry_policy(dagbag):
    # Only a flag is serialized (the worker evaluates the policy on the parsed DAG): it must survive.
    from airflow.serialization.serialized_objects import DagSerialization

    for dag_id, dag in dagbag.dags.items():
        serialized = DagSerialization.from_dict(DagSerialization.to_dict(dag))
        missing = [t.task_id for t in serialized.tasks if not t.has_retry_policy]
        assert not missing, f"{dag_id}: serialized without a retry policy: {missing}"


def test_warehouse_writers_share_one_pool(dagbag):
    from orchestration.settings import WAREHOUSE_POOL

    dag = dagbag.dags["send_pipeline"]
    # The scorecard only reads the published file, after publish, and listing an LA's connections reads an
    # Airflow Variable: neither needs a turn at the build file.
    readers = {"build_scorecard", "sources_la_case_management"}
    assert {t.pool for t in dag.tasks if t.task_id not in readers} == {WAREHOUSE_POOL}
    assert dag.get_task("build_scorecard").upstream_task_ids == {"publish"}


def test_a_feed_read_per_la_has_its_extract_mapped_over_the_la_connections(dagbag):
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    from ingestion import registry

    dag = dagbag.dags["send_pipeline"]
    for feed in registry.feeds():
        extract = dag.get_task(f"extract_{feed.name}")
        if feed.kind == "database":
            assert isinstance(extract, MappedOperator), feed.name
            assert extract.upstream_task_ids == {f"sources_{feed.name}"}
            assert set(extract.op_kwargs_expand_input.value) == {"connection_id"}
            # One LA's failed extract holds back no other LA; none succeeding loads nothing.
            load = dag.get_task(f"load_{feed.name}")
            assert load.upstream_task_ids == {f"extract_{feed.name}", f"sources_{feed.name}"}
            assert load.trigger_rule == "all_done_min_one_success"
        else:
            assert not isinstance(extract, MappedOperator), feed.name
            load = dag.get_task(f"load_{feed.name}")
            assert load.upstream_task_ids == {f"extract_{feed.name}"} and load.trigger_rule == "all_success"


def test_dbt_runs_as_one_build_task_of_what_its_plan_selected(dagbag):
    from ingestion.registry import names
    from orchestration.settings import WAREHOUSE_POOL

    SOURCES = names()  # every feed of the registry: an extract and a load task each

    dag = dagbag.dags["send_pipeline"]
    loads = {f"load_{source}" for source in SOURCES}
    assert {f"extract_{source}" for source in SOURCES} | loads | {"verify_quality", "publish"} <= set(dag.task_ids)
    dbt = [t for t in dag.tasks if t.task_id.startswith("dbt.")]
    assert sorted(t.task_id for t in dbt) == ["dbt.build", "dbt.plan"]
    plan, build = dag.get_task("dbt.plan"), dag.get_task("dbt.build")
    assert plan.upstream_task_ids == loads and plan.downstream_task_ids == {"dbt.build"}
    assert build.base_cmd == ["build"] and build.pool == plan.pool == WAREHOUSE_POOL
    # What the plan selected (orchestration/build_plan.py); the run's date, id and plan as environment
    # (partial parsing holds: dbt_project/macros/run_context.sql).
    assert build.select == "{{ ti.xcom_pull(task_ids='dbt.plan')['select'] }}" and not build.vars
    assert set(build.env) == {"SEND_AS_OF", "SEND_RUN_ID", "SEND_BUILD_PLAN"}
    # Unit tests are CI's; no debug log file (Cosmos deletes it with its temporary copy of the project).
    assert build.dbt_cmd_flags == ["--exclude-resource-type", "unit_test", "--log-level-file", "none"]
    assert build.upstream_task_ids == {"dbt.plan"} and build.downstream_task_ids == {"verify_quality"}
    assert dag.params["whole_build"] is False  # a run triggered with {"whole_build": true} builds everything


def _render(mode: str):
    """The dbt step of send_pipeline in another execution mode (the benchmark's), in a DAG of its own."""
    from airflow.sdk import DAG

    from bench.cosmos_execution_modes import dbt_tasks

    with DAG(dag_id=f"send_pipeline_{mode}", schedule=None) as dag:
        dbt_tasks(mode)
    return dag


def test_per_node_mode_renders_a_task_per_dbt_node_from_the_manifest():
    from orchestration.settings import WAREHOUSE_POOL

    dag = _render("per_node")
    assert {"dbt.kpi_definitions_seed_build", "dbt.kpi_values_model_build"} <= set(dag.task_ids)
    assert {t.pool for t in dag.tasks} == {WAREHOUSE_POOL}


def test_watcher_mode_keeps_only_its_producer_in_the_warehouse_pool():
    from orchestration.settings import WAREHOUSE_POOL

    dag = _render("watcher")
    pooled = {t.task_id for t in dag.tasks if t.pool == WAREHOUSE_POOL}
    assert pooled == {"dbt.dbt_producer_watcher"}
    assert "dbt.kpi_values.run" in dag.task_ids and len(dag.tasks) > 3
