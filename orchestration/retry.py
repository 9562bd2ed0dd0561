"""The retry policy every task carries (DEFAULT_ARGS): the failure class decides whether a retry can help.

A transient failure (timeout, reset, refused connection, a held file lock) is retried with the task's
own `retries` and exponential backoff. An IG blocker, a data-quality failure or a code defect fails on
its first try: a retry would fail the same way and only delay the alert (docs/runbooks/).
The worker evaluates the policy with the real exception; the scheduler only sees the outcome.
"""

from __future__ import annotations

from airflow.sdk import RetryDecision, RetryPolicy

from orchestration.failures import FailureClass, classify


class FailureClassRetryPolicy(RetryPolicy):
    """RETRY for transient failures (the task's backoff applies), FAIL at once for every other class."""

    def evaluate(self, exception, try_number, max_tries, context=None) -> RetryDecision:
        failure_class = classify(exception)
        # The reason is logged and stored on the task instance: the exception's type, never its text.
        what = f"{failure_class} failure ({type(exception).__name__})"
        if failure_class is FailureClass.TRANSIENT:
            return RetryDecision.retry(reason=f"{what}: retried with backoff while tries remain")
        return RetryDecision.fail(reason=f"{what}: not retried, see docs/runbooks/{failure_class}.md")

    # Airflow 3.3 serializes only a has_retry_policy flag; these keep the policy portable if that changes.
    def serialize(self) -> dict:
        return {"__type": type(self).__name__}

    @classmethod
    def deserialize(cls, data: dict) -> FailureClassRetryPolicy:
        return cls()
