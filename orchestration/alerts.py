"""One notifier for every DAG: a structured alert per failed run, with class, owner and runbook.

Each alert is appended to SEND_ALERTS_PATH (JSON lines) and logged; delivery to email, Teams and
Slack through Airflow providers plugs in here (one place), configured by connections.
"""

from __future__ import annotations

import fcntl
import json
import logging

from airflow.sdk import BaseNotifier

from orchestration.failures import classify
from orchestration.settings import Settings

log = logging.getLogger(__name__)
RUNBOOK_BASE = "docs/runbooks"
DATA_OWNERS = {"la_case_management": "LA SEND business intelligence team"}


class SendAlertNotifier(BaseNotifier):
    """Task failure notifier; at most one alert per DAG run (a run failing in three tasks is one episode)."""

    template_fields = ()

    def notify(self, context) -> None:
        alert = build_alert(context)
        path = Settings.from_env().alerts_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            if any(json.loads(line).get("run_id") == alert["run_id"] for line in handle if line.strip()):
                return
            handle.write(json.dumps(alert) + "\n")
        log.error("ALERT %s", json.dumps(alert))


def build_alert(context) -> dict:
    ti = context["ti"]
    exception = context.get("exception")
    failure_class = classify(exception)
    feed = next((f for f in DATA_OWNERS if f in ti.task_id), None)
    return {
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": ti.run_id,
        "logical_date": str(context.get("logical_date")),
        "try": f"{ti.try_number} of {(ti.max_tries or 0) + 1}",
        "failure_class": str(failure_class),
        "error": str(exception)[:500] if exception else None,
        "data_owner": DATA_OWNERS.get(feed, "SEND data platform team") if feed else "SEND data platform team",
        "log_url": getattr(ti, "log_url", None),
        "runbook": f"{RUNBOOK_BASE}/{failure_class}.md",
    }
