"""Settings every DAG shares: owner, retries by failure class with backoff, timeouts, the alert notifier, schedule."""

from __future__ import annotations

import datetime as dt
import os

import pendulum
from airflow.sdk import CronTriggerTimetable

from orchestration.alerts import SendAlertNotifier, SendRecoveryNotifier
from orchestration.retry import FailureClassRetryPolicy

LONDON = pendulum.timezone("Europe/London")
START_DATE = pendulum.datetime(2021, 1, 1, tz=LONDON)  # first period the marts cover; catchup stays off
DAILY_AT_6 = CronTriggerTimetable("0 6 * * *", timezone=LONDON)  # one run a day, across clock changes

# The run's as-of date: the logical date read on a London calendar (not UTC, which is a day
# behind at midnight in summer). KPIs cover the complete months before it.
AS_OF = "{{ logical_date.in_timezone('Europe/London').strftime('%Y-%m-%d') }}"


def as_of(context) -> str:
    return context["logical_date"].in_timezone(LONDON).strftime("%Y-%m-%d")


DEFAULT_ARGS = {
    "owner": "send-data-platform",
    # Overridable so `airflow dags test` runs (demo, tests) fail fast instead of sitting out minutes of backoff.
    "retries": int(os.environ.get("SEND_TASK_RETRIES", "2")),
    "retry_delay": dt.timedelta(seconds=int(os.environ.get("SEND_RETRY_DELAY_SECONDS", "120"))),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=30),
    # Only transient failures spend those retries; the other classes fail and alert on the first try.
    "retry_policy": FailureClassRetryPolicy(),
    "execution_timeout": dt.timedelta(minutes=45),
    "on_failure_callback": SendAlertNotifier(),
}

# DAG-level: a successful run closes open failure episodes with a recovery notice.
ON_SUCCESS = SendRecoveryNotifier()
