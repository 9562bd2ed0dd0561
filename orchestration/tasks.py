"""The DAG's task bodies: each turns the Airflow context into the explicit arguments of a pipeline step
(orchestration/steps.py) and returns what the next task needs (a manifest path, a summary: never
data, so nothing personal reaches XCom). Imported by the DAG file; heavy modules load at run time.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from orchestration import dag_defaults


def _run(feed: str, context):
    from orchestration.feed_access import SourceRun

    return SourceRun(feed, dt.date.fromisoformat(dag_defaults.as_of(context)), context["run_id"])


def _notifier(context):
    from orchestration import alerts

    return lambda decisions, kpis: alerts.notify_owner(decisions, context, kpis)


def extract(feed: str) -> str | None:
    """Land what may be read of a feed; the manifest path, or None when every agreement is blocked."""
    from airflow.sdk import BaseHook, get_current_context

    from ingestion import registry
    from orchestration import connections, steps
    from orchestration.settings import Settings

    context = get_current_context()
    declared = registry.feed(feed)
    location, area_code = None, ""
    if declared.kind == "database":  # the source's connection, with the LA it belongs to
        conn = BaseHook.get_connection(declared.connection_id)
        location, area_code = connections.sqlalchemy_url(conn), conn.extra_dejson.get("area_code", "E10000017")
    manifest = steps.extract(
        feed,
        _run(feed, context),
        Settings.from_env(),
        connections.pseudonymisation_key(),
        _notifier(context),
        location=location,
        area_code=area_code,
    )
    return None if manifest is None else str(manifest)


def load(feed: str, manifest: str | None) -> int:
    """Load the landed batch (idempotent per batch) and judge each read agreement's freshness."""
    from airflow.sdk import get_current_context

    from orchestration import steps
    from orchestration.settings import Settings

    context = get_current_context()
    path = Path(manifest) if manifest else None
    return steps.load(feed, _run(feed, context), Settings.from_env(), path, _notifier(context))


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
