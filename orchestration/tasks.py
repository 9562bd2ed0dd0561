"""The DAG's task bodies: each turns the Airflow context into the explicit arguments of a pipeline step
(orchestration/steps.py) and returns what the next task needs (a manifest path, a summary: never
data, so nothing personal reaches XCom). Imported by the DAG file; heavy modules load at run time.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path

from orchestration import dag_defaults


def _run(feed: str, context, area_code: str = ""):
    from orchestration.feed_access import SourceRun

    return SourceRun(feed, dt.date.fromisoformat(dag_defaults.as_of(context)), context["run_id"], area_code)


def _notifier(context):
    from orchestration import alerts

    return lambda decisions, kpis: alerts.notify_owner(decisions, context, kpis)


def source_connections(feed: str) -> list[str]:
    """The Airflow connections of a feed read per source database (one per LA): the Variable
    `<feed>_connections` (a JSON list of connection ids), else the feed's one connection. Each must
    exist and name its LA, and no two the same LA (their batches and IG decisions would collide): checked
    here, before any LA is read."""
    from airflow.sdk import BaseHook, Variable

    from ingestion import registry
    from orchestration import connections

    declared = registry.feed(feed)
    ids = Variable.get(f"{feed}_connections", default=[declared.connection_id], deserialize_json=True)
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise ValueError(f"Variable {feed}_connections must be a JSON list of connection ids, e.g. {[feed]}")
    areas: dict[str, list[str]] = {}
    for conn_id in ids:
        areas.setdefault(connections.area_code(BaseHook.get_connection(conn_id)), []).append(conn_id)
    shared = [f"{area} ({', '.join(held)})" for area, held in areas.items() if len(held) > 1]
    if shared:
        raise ValueError(f"Variable {feed}_connections: one connection per LA; more than one for {'; '.join(shared)}")
    return ids


def extract(feed: str, connection_id: str | None = None) -> str | None:
    """Land what may be read of a feed (of one source database, `connection_id`, with the LA it belongs
    to in its extra `area_code`); the manifest path, or None when every agreement is blocked."""
    from airflow.sdk import BaseHook, get_current_context

    from orchestration import connections, steps
    from orchestration.settings import Settings

    context = get_current_context()
    location, area_code = None, ""
    if connection_id:
        conn = BaseHook.get_connection(connection_id)
        location, area_code = connections.sqlalchemy_url(conn), connections.area_code(conn)
    manifest = steps.extract(
        feed,
        _run(feed, context, area_code),
        Settings.from_env(),
        connections.pseudonymisation_key(),
        _notifier(context),
        location=location,
    )
    return None if manifest is None else str(manifest)


def load(feed: str, manifests: str | Sequence[str | None] | None, connection_ids: Sequence[str] = ()) -> int:
    """Load the landed batches (idempotent per batch) and judge each read agreement's freshness; a feed
    read per LA passes the manifests of the LAs whose extract succeeded (None where the LA was blocked)
    and every LA's connection (`connection_ids`): an LA whose extract failed counts as not read."""
    from airflow.sdk import BaseHook, get_current_context

    from orchestration import connections, steps
    from orchestration.settings import Settings

    context = get_current_context()
    listed = [manifests] if manifests is None or isinstance(manifests, str) else list(manifests)  # mapped: lazy
    paths = [Path(m) for m in listed if m]
    areas = [connections.area_code(BaseHook.get_connection(conn_id)) for conn_id in connection_ids]
    return steps.load(feed, _run(feed, context), Settings.from_env(), paths, _notifier(context), areas=areas)


def plan_build() -> dict:
    """What the dbt build selects this run and why (logged): what changed, or the whole project (when the
    last build cannot be trusted, or the run was triggered with `whole_build`)."""
    from airflow.sdk import get_current_context

    from orchestration import steps
    from orchestration.settings import Settings

    context = get_current_context()
    as_of = dt.date.fromisoformat(dag_defaults.as_of(context))
    whole = bool(context["params"].get("whole_build", False))
    planned = steps.plan_build(Settings.from_env(), context["run_id"], as_of, whole)
    logging.getLogger(__name__).info("dbt build: %s; --select %s", planned["reason"], planned["select"])
    return planned


def verify_quality() -> dict:
    from airflow.sdk import get_current_context

    from orchestration import steps
    from orchestration.settings import Settings

    context = get_current_context()
    as_of = dt.date.fromisoformat(dag_defaults.as_of(context))
    return steps.verify(Settings.from_env(), context["run_id"], as_of)


def publish(quality_summary: dict) -> dict:
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowSkipException

    from orchestration import connections, steps
    from orchestration.settings import Settings

    context = get_current_context()
    as_of = dt.date.fromisoformat(dag_defaults.as_of(context))
    published = steps.publish(
        Settings.from_env(), context["run_id"], as_of, quality_summary["checks"], connections.reporting_url()
    )
    if "superseded_by" in published:
        raise AirflowSkipException(
            f"published marts are as of {published['superseded_by']}, newer than this run's {as_of}"
        )
    return published


def build_scorecard(published: dict) -> dict:
    """The board scorecard from the marts just published; a failure leaves them published (class scorecard)."""
    from orchestration import steps
    from orchestration.settings import Settings

    return steps.build_scorecard(Settings.from_env())
