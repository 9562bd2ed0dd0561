"""send_pipeline: every feed (IG register first) -> landing -> raw -> dbt marts -> Soda gate -> publish
-> board scorecard.

Write-audit-publish: dbt builds into the private build warehouse, Soda verifies it there, and only
then are the marts copied to the published file (atomic replace). One extract/load pair per feed of
the registry (ingestion/<feed>/feed.py); a feed read from one database per LA has its extract mapped
over the LA connections (Variable `<feed>_connections`), each LA's IG decision, watermarks and owner
notice its own, and one LA's failed extract holds back no other LA. The task bodies are
orchestration/tasks.py, the steps they run orchestration/steps.py. The scorecard is built from what
was published: its failure leaves the marts published and alerts as its own class. Parsing this file
runs no dbt and imports no data library.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from ingestion import registry
from orchestration import dag_defaults, tasks
from orchestration.dbt_step import dbt_build
from orchestration.settings import WAREHOUSE_POOL


def send_pipeline_dag(dbt_step=dbt_build, dag_id: str = "send_pipeline"):
    """The DAG; the benchmark builds it with other dbt steps under other ids."""

    @dag(
        dag_id=dag_id,
        description="Extract SEND sources, build and check the KPI marts, publish them",
        schedule=dag_defaults.DAILY_AT_6,
        start_date=dag_defaults.START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=dag_defaults.DEFAULT_ARGS,
        on_success_callback=dag_defaults.ON_SUCCESS,
        tags=["send", "warehouse", "priority-ii"],
        params={
            "whole_build": Param(
                False,
                type="boolean",
                description="Build the whole dbt project, not only what changed since the last build",
            )
        },
        doc_md=__doc__,
    )
    def send_pipeline():
        loads = []
        for feed in registry.feeds():
            extract = task(tasks.extract, task_id=f"extract_{feed.name}", pool=WAREHOUSE_POOL)
            load = task(tasks.load, task_id=f"load_{feed.name}", pool=WAREHOUSE_POOL)
            if feed.kind == "database":  # one mapped extract per source database (one per LA), each decided alone
                sources = task(tasks.source_connections, task_id=f"sources_{feed.name}")(feed.name)
                landed = extract.partial(feed=feed.name).expand(connection_id=sources)
                # One LA's database down (its extract failed after its retries, on-call alerted) does not hold
                # back the others: they load and publish, and that LA counts as not read in this run.
                loads.append(load.override(trigger_rule="all_done_min_one_success")(feed.name, landed, sources))
            else:
                loads.append(load(feed.name, extract(feed.name)))
        checked = task(tasks.verify_quality, task_id="verify_quality", pool=WAREHOUSE_POOL)()
        loads >> dbt_step() >> checked
        published = task(tasks.publish, task_id="publish", pool=WAREHOUSE_POOL)(checked)
        task(tasks.build_scorecard, task_id="build_scorecard")(published)

    return send_pipeline()


send_pipeline_dag()
