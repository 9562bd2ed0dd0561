"""One notifier for every DAG: one alert per failure episode, a recovery notice when it ends.

An episode is a DAG failing with one failure class until a run of that DAG succeeds without that
failure: a run failing in three tasks, a retried task, or the same failure again tomorrow is one alert.
A run can succeed with a task failed in it (one LA's database unreachable: the other LAs publish); its
own failures keep their episodes open. Every decision (alert, suppressed repeat, recovery) is appended
to SEND_ALERTS_PATH (JSON lines, under a file lock), which is also how repeats are recognised.
Delivery goes through Airflow providers to every channel whose connection exists: email
(`smtp_alerts`, recipients in its extra `to`), a Microsoft Teams workflow webhook (`teams_alerts`, an
HTTP connection) and Slack (`slack_alerts`, a Slack webhook connection). A channel that fails is logged
and recorded; it never hides the original failure. Foreign text (exception messages) reaches an alert
or a log line only through `ingestion.privacy.redact`.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import html
import json
import logging
import os
from collections.abc import Generator
from pathlib import Path
from urllib.parse import quote

from airflow.sdk import BaseNotifier

from ingestion.privacy import redact
from orchestration import ig_register
from orchestration.failures import classify
from orchestration.settings import Settings

log = logging.getLogger(__name__)
EMAIL_CONN_ID, TEAMS_CONN_ID, SLACK_CONN_ID = "smtp_alerts", "teams_alerts", "slack_alerts"
PLATFORM_OWNER = "SEND data platform team"


class SendAlertNotifier(BaseNotifier):
    """Task failure callback (after the last try): alert once per episode."""

    template_fields = ()

    def notify(self, context) -> None:
        alert = build_alert(context)
        with _alert_log() as history:
            if any(e["run_id"] == alert["run_id"] and e["event"] == "alert" for e in history.events):
                return  # this run already raised its alert
            if history.open_episode(alert["dag_id"], alert["failure_class"]):
                history.append({**alert, "event": "suppressed"})
                return
            alert["delivered"] = deliver(alert_subject(alert), alert_lines(alert))
            history.append({**alert, "event": "alert"})
        log.error("ALERT %s", json.dumps(alert))


class SendRecoveryNotifier:
    """DAG success callback: close the DAG's open episodes with a recovery notice, except those this run
    alerted or repeated (a run publishes with one LA's extract failed: that LA has not recovered).

    A plain callable, not a BaseNotifier: DAG-level callbacks receive a serialized DAG, which has no
    template environment for BaseNotifier to render with (Airflow 3.3)."""

    def __call__(self, context) -> None:
        dag_run = context["dag_run"]
        with _alert_log() as history:
            failing_now = {
                e["failure_class"] for e in history.events
                if (e["dag_id"], e["run_id"]) == (dag_run.dag_id, dag_run.run_id)
                and e["event"] in ("alert", "suppressed")
            }  # fmt: skip
            for failure_class, opened in history.open_episodes(dag_run.dag_id).items():
                if failure_class in failing_now:
                    continue
                notice = {
                    "event": "recovery",
                    "dag_id": dag_run.dag_id,
                    "run_id": dag_run.run_id,
                    "failure_class": failure_class,
                    "since_run_id": opened["run_id"],
                }
                subject = f"[SEND data platform] recovered: {dag_run.dag_id} ({failure_class})"
                lines = [f"{dag_run.dag_id} succeeded in run {dag_run.run_id}.",
                         f"The {failure_class} failure alerted in run {opened['run_id']} is over."]  # fmt: skip
                notice["delivered"] = deliver(subject, lines)
                history.append(notice)


def notify_owner(decisions: list[ig_register.Decision], context, kpis: list[str]) -> bool:
    """Tell one data owner, once per source system (and LA, for a feed read per LA) and run, which of their
    agreements are blocked: one notice naming each with its reason and the KPIs falling back. An agreement
    already named in a notice of this run (a retried task, a step that ran earlier) is not named again; a
    notice goes out only for agreements not yet named. The run goes on with the fallback, so this is a
    notice, not a failure alert. Returns whether the owner has now been told of every one of `decisions` in this run."""
    ti = context["ti"]
    first = decisions[0]
    source, owner, contact, area = ig_register.source_of(first.feed), first.data_owner, first.contact, first.area_code
    whose = (source, owner, contact, area)
    if any((ig_register.source_of(d.feed), d.data_owner, d.contact, d.area_code) != whose for d in decisions):
        raise ValueError("an owner notice is for one source, LA and data owner; group the decisions first")
    with _alert_log() as history:
        named = {
            feed
            for e in history.events
            if e["event"] == "owner_notice"
            and e["run_id"] == ti.run_id
            and e.get("source") == source
            and e.get("area_code", "") == area
            and (e.get("data_owner"), e.get("contact")) == (owner, contact)
            for feed in e.get("feeds", [])
        }
        new = [d for d in decisions if d.feed not in named]
        if not new:
            return True
        notice = {
            "event": "owner_notice",
            "dag_id": ti.dag_id,
            "task_id": ti.task_id,
            "run_id": ti.run_id,
            "logical_date": str(context.get("logical_date")),
            "source": source,
            "area_code": area,
            "feeds": [d.feed for d in new],
            "reasons": {d.feed: d.reason for d in new},
            "reason": "; ".join(dict.fromkeys(d.reason for d in new)),  # a refusal blocks all with one reason
            "failure_class": "ig_blocker",
            "data_owner": owner,
            "contact": contact,
            "kpis_falling_back": kpis,
            "log_url": log_url(ti.dag_id, ti.run_id, ti.task_id, ti.try_number),
            "runbook": f"{os.environ.get('SEND_RUNBOOK_BASE_URL', 'docs/runbooks')}/ig_blocker.md",
        }
        named_source = ig_register.named(source, area)
        feeds = ", ".join(notice["feeds"])
        subject = f"[SEND data platform] feed blocked: {named_source} ({feeds}; information governance)"
        lines = [
            f"Source: {named_source} - not used in run {notice['run_id']} of {notice['dag_id']}; blocked agreements:",
            *(f"- {d.feed}: {d.reason}" for d in new),
            f"Data owner: {owner} ({contact})",
            f"KPIs falling back (aggregate feed, manual scorecard or missing): {', '.join(kpis) or 'none'}",
            "Failure class: ig_blocker (not retried; the run goes on and publishes with the fallback)",
            f"Log: {notice['log_url']}",
            f"Runbook: {notice['runbook']}",
        ]
        notice["delivered"] = deliver(subject, lines, extra_recipients=[contact])
        history.append(notice)
    log.warning("OWNER NOTICE %s", json.dumps(notice))
    return True


def build_alert(context) -> dict:
    ti = context["ti"]
    exception = context.get("exception")
    failure_class = classify(exception)
    try:
        owner = ig_register.owner_of_task(ti.task_id)
    except Exception as error:  # noqa: BLE001 - a broken register must not stop the alert about it
        log.error("no data owner from the IG register: %s: %s", type(error).__name__, redact(error))
        owner = None
    return {
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": ti.run_id,
        "logical_date": str(context.get("logical_date")),
        "try": f"{ti.try_number} of {(ti.max_tries or 0) + 1}",
        "failure_class": str(failure_class),
        # Foreign text (a driver's or library's message may quote a row's values): identifiers withheld.
        "error": redact(exception, 500) if exception else None,
        "data_owner": owner or PLATFORM_OWNER,
        "log_url": log_url(ti.dag_id, ti.run_id, ti.task_id, ti.try_number),
        "runbook": f"{os.environ.get('SEND_RUNBOOK_BASE_URL', 'docs/runbooks')}/{failure_class}.md",
    }


def log_url(dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
    """The task's log page in the Airflow UI, from the configured [api] base_url."""
    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback="http://localhost:8080").rstrip("/")
    return f"{base}/dags/{dag_id}/runs/{quote(run_id, safe='')}/tasks/{task_id}?try_number={try_number}"


def alert_subject(alert: dict) -> str:
    return f"[SEND data platform] {alert['failure_class']} failure: {alert['dag_id']}.{alert['task_id']}"


def alert_lines(alert: dict) -> list[str]:
    return [
        f"DAG: {alert['dag_id']}",
        f"Task: {alert['task_id']} (try {alert['try']})",
        f"Run: {alert['run_id']} (logical date {alert['logical_date']})",
        f"Failure class: {alert['failure_class']}",
        f"Data owner: {alert['data_owner']}",
        f"Error: {alert['error']}",
        f"Log: {alert['log_url']}",
        f"Runbook: {alert['runbook']}",
    ]


def deliver(subject: str, lines: list[str], extra_recipients: list[str] = ()) -> dict[str, str]:
    """Send to every configured channel; returns channel -> 'sent' or the delivery error."""
    outcome = {}
    for channel, conn_id, send in (
        ("email", EMAIL_CONN_ID, functools.partial(_send_email, extra_recipients=extra_recipients)),
        ("teams", TEAMS_CONN_ID, _send_teams),
        ("slack", SLACK_CONN_ID, _send_slack),
    ):
        if not _connection_exists(conn_id):
            continue
        try:
            send(conn_id, subject, lines)
            outcome[channel] = "sent"
        except Exception as error:  # noqa: BLE001 - a broken channel must not mask the failure being reported
            # No traceback: its text is foreign and may echo what was sent; the class and redacted message suffice.
            outcome[channel] = f"failed: {type(error).__name__}: {redact(error, 280)}"
            log.error("alert delivery through %s %s", channel, outcome[channel])
    return outcome


def _connection_exists(conn_id: str) -> bool:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def _send_email(conn_id: str, subject: str, lines: list[str], extra_recipients=()) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook
    from airflow.sdk import BaseHook

    recipients = BaseHook.get_connection(conn_id).extra_dejson["to"]
    recipients = [recipients] if isinstance(recipients, str) else list(recipients)
    recipients += [r for r in extra_recipients if r not in recipients]
    body = "<br>".join(html.escape(line) for line in lines)
    with SmtpHook(smtp_conn_id=conn_id) as hook:
        hook.send_email_smtp(to=recipients, subject=subject, html_content=body)


def _send_teams(conn_id: str, subject: str, lines: list[str]) -> None:
    from airflow.providers.http.hooks.http import HttpHook

    card = {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [{"type": "TextBlock", "text": subject, "weight": "bolder", "wrap": True}]
                    + [{"type": "TextBlock", "text": line, "wrap": True} for line in lines],
                },
            }
        ],
    }
    HttpHook(method="POST", http_conn_id=conn_id).run(json=card, extra_options={"check_response": True})


def _send_slack(conn_id: str, subject: str, lines: list[str]) -> None:
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    SlackWebhookHook(slack_webhook_conn_id=conn_id).send(text="\n".join([f"*{subject}*", *lines]))


class _History:
    def __init__(self, handle):
        self._handle = handle
        handle.seek(0)
        self.events = [json.loads(line) for line in handle if line.strip()]

    def open_episodes(self, dag_id: str) -> dict[str, dict]:
        """failure class -> the alert that opened it, for episodes no recovery has closed."""
        episodes: dict[str, dict] = {}
        for event in self.events:
            if event["dag_id"] != dag_id:
                continue
            if event["event"] == "alert":
                episodes.setdefault(event["failure_class"], event)
            elif event["event"] == "recovery":
                episodes.pop(event["failure_class"], None)
        return episodes

    def open_episode(self, dag_id: str, failure_class: str) -> bool:
        return failure_class in self.open_episodes(dag_id)

    def append(self, event: dict) -> None:
        self._handle.seek(0, os.SEEK_END)
        self._handle.write(json.dumps(event) + "\n")
        self._handle.flush()
        self.events.append(event)


@contextlib.contextmanager
def _alert_log() -> Generator[_History]:
    path: Path = Settings.from_env().alerts_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # tasks failing at once on several workers decide one at a time
        yield _History(handle)
