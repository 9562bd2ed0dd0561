"""Alerts through real channels on loopback: an SMTP server (aiosmtpd) and an HTTP webhook receiver
standing in for Microsoft Teams and Slack, fed by real `airflow dags test` runs of probe DAGs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from devtools.environment import prepare

pytestmark = pytest.mark.slow
AIRFLOW = str(Path(sys.executable).parent / "airflow")
PROBES = Path(__file__).with_name("alert_probe_dags")
BASE_URL = "https://airflow.send.example"


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


class Webhooks(ThreadingHTTPServer):
    def __init__(self):
        self.posts: list[tuple[str, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def bodies(self, prefix: str) -> list[dict]:
        return [body for path, body in self.posts if path.startswith(prefix)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def channels(tmp_path_factory):
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    hooks = Webhooks()
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    work = tmp_path_factory.mktemp("alerts")
    port = hooks.server_address[1]
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(work / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{work / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROBES),
        "AIRFLOW__API__BASE_URL": BASE_URL,
        "SEND_ALERTS_PATH": str(work / "alerts.jsonl"),
        "SEND_RETRY_DELAY_SECONDS": "1",
        "AIRFLOW_CONN_SMTP_ALERTS": json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": smtp.port,
                "extra": {
                    "disable_ssl": True,
                    "disable_tls": True,
                    "from_email": "send-platform@example.invalid",
                    "to": "oncall@example.invalid",
                },
            }
        ),
        "AIRFLOW_CONN_TEAMS_ALERTS": json.dumps(
            {"conn_type": "http", "host": f"http://127.0.0.1:{port}/teams/workflows/abc/invoke?sig=x"}
        ),
        "AIRFLOW_CONN_SLACK_ALERTS": json.dumps(
            {"conn_type": "slackwebhook", "password": f"http://127.0.0.1:{port}/slack/T000/B000/XXXX"}
        ),
    }
    prepare(env, work / "prepare.log")
    yield env, mailbox, hooks, work
    smtp.stop()
    hooks.shutdown()


def _run(env, dag_id: str, logical_date: str, failing_tries: int | None = None, conf: dict | None = None) -> int:
    command = [AIRFLOW, "dags", "test", dag_id, logical_date]
    if failing_tries is not None:
        conf = {**(conf or {}), "failing_tries": failing_tries}
    if conf:
        command += ["--conf", json.dumps(conf)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    (Path(env["AIRFLOW_HOME"]).parent / f"{dag_id}-{logical_date}.log").write_text(result.stdout + result.stderr)
    return result.returncode


def _counts(mailbox, hooks) -> tuple[int, int, int]:
    return len(mailbox.messages), len(hooks.bodies("/teams")), len(hooks.bodies("/slack"))


def test_a_run_failing_in_three_tasks_is_one_alert_on_every_channel(channels):
    env, mailbox, hooks, _ = channels
    assert _run(env, "alert_probe_many", "2024-01-01") != 0
    assert _counts(mailbox, hooks) == (1, 1, 1)
    mail = mailbox.messages[0]
    assert mail["To"] == "oncall@example.invalid"
    assert "code_defect failure: alert_probe_many.broken_" in mail["Subject"]
    body = next(p.get_payload(decode=True).decode() for p in mail.walk() if p.get_content_type() == "text/html")
    assert f"{BASE_URL}/dags/alert_probe_many/runs/" in body
    assert "Data owner: SEND data platform team" in body and "docs/runbooks/code_defect.md" in body
    card = hooks.bodies("/teams")[0]["attachments"][0]["content"]
    texts = [block["text"] for block in card["body"]]
    assert any(t.startswith("Failure class: code_defect") for t in texts)
    assert any(t.startswith(f"Log: {BASE_URL}/dags/alert_probe_many/runs/") for t in texts)
    assert "Runbook: docs/runbooks/code_defect.md" in hooks.bodies("/slack")[0]["text"]


def test_retries_episodes_and_recovery(channels):
    env, mailbox, hooks, work = channels
    start = _counts(mailbox, hooks)

    assert _run(env, "alert_probe_retry", "2024-02-01", failing_tries=1) == 0  # failed once, retried, fine
    assert _counts(mailbox, hooks) == start

    assert _run(env, "alert_probe_retry", "2024-02-02", failing_tries=5) != 0  # both tries fail: one alert
    after_first = _counts(mailbox, hooks)
    assert after_first == tuple(n + 1 for n in start)
    slack = hooks.bodies("/slack")[-1]["text"]
    assert "transient failure: alert_probe_retry.flaky" in slack and "try 2 of 2" in slack

    assert _run(env, "alert_probe_retry", "2024-02-03", failing_tries=5) != 0  # same episode: no new alert
    assert _counts(mailbox, hooks) == after_first

    assert _run(env, "alert_probe_retry", "2024-02-04", failing_tries=0) == 0  # recovery notice
    assert _counts(mailbox, hooks) == tuple(n + 1 for n in after_first)
    assert "recovered: alert_probe_retry (transient)" in mailbox.messages[-1]["Subject"]

    events = [json.loads(line)["event"] for line in (work / "alerts.jsonl").read_text().splitlines()]
    assert events == ["alert", "alert", "suppressed", "recovery"]


def test_a_run_published_with_one_source_down_keeps_its_episode_open(channels):
    """The other sources load, so the run succeeds; its success must not announce a recovery of the
    failure it alerted, and the same source down tomorrow is no new alert."""
    env, mailbox, hooks, work = channels
    dag_id, down = "alert_probe_one_source_down", {"down": "E06000009"}
    start = _counts(mailbox, hooks)

    assert _run(env, dag_id, "2024-03-01", conf=down) == 0  # the run succeeds: two of three sources loaded
    after_alert = _counts(mailbox, hooks)
    assert after_alert == tuple(n + 1 for n in start)
    assert "transient failure: alert_probe_one_source_down.extract" in hooks.bodies("/slack")[-1]["text"]

    assert _run(env, dag_id, "2024-03-02", conf=down) == 0  # still down: same episode, no alert, no recovery
    assert _counts(mailbox, hooks) == after_alert

    assert _run(env, dag_id, "2024-03-03") == 0  # back: the recovery notice
    assert _counts(mailbox, hooks) == tuple(n + 1 for n in after_alert)
    assert "recovered: alert_probe_one_source_down (transient)" in mailbox.messages[-1]["Subject"]
    events = [json.loads(line) for line in (work / "alerts.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events if e["dag_id"] == dag_id] == ["alert", "suppressed", "recovery"]
