import errno
import json
import socket
import sqlite3
import subprocess
import sys
from types import SimpleNamespace

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa
from airflow.sdk import RetryAction
from airflow.sdk.exceptions import AirflowTaskTimeout
from cosmos.exceptions import CosmosDbtRunError

from ingestion.contract import ContractDriftError
from ingestion.load import ChecksumMismatch
from orchestration.failures import FailureClass, IGBlockedError, classify
from orchestration.retry import FailureClassRetryPolicy
from warehouse.quality import DataQualityError, QualityRuntimeError


class HttpError(Exception):
    def __init__(self, status_code: int):
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (IGBlockedError("agreement expired"), FailureClass.IG_BLOCKER),
        (PermissionError("permission denied"), FailureClass.IG_BLOCKER),
        (HttpError(401), FailureClass.IG_BLOCKER),
        (HttpError(403), FailureClass.IG_BLOCKER),
        (HttpError(500), FailureClass.CODE_DEFECT),
        (TimeoutError(), FailureClass.TRANSIENT),
        (ConnectionResetError(), FailureClass.TRANSIENT),
        (DataQualityError([], checked=3), FailureClass.DATA_QUALITY),
        (ContractDriftError("columns missing"), FailureClass.DATA_QUALITY),
        (ChecksumMismatch("differs"), FailureClass.DATA_QUALITY),
        (QualityRuntimeError("bad contract"), FailureClass.CODE_DEFECT),
        (KeyError("x"), FailureClass.CODE_DEFECT),
        (None, FailureClass.CODE_DEFECT),
    ],
)
def test_each_failure_gets_its_class(error, expected):
    assert classify(error) is expected


def test_the_cause_decides_when_a_library_wraps_it():
    try:
        try:
            raise PermissionError("login revoked")
        except PermissionError as inner:
            raise RuntimeError("extract failed") from inner
    except RuntimeError as outer:
        assert classify(outer) is FailureClass.IG_BLOCKER


class FakeDriverStateError(Exception):
    """Shaped like psycopg's errors: the SQLSTATE on `sqlstate`."""

    def __init__(self, sqlstate: str):
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


class Response:
    def __init__(self, status_code):
        self.status_code = status_code


class HTTPErrorWithResponse(Exception):
    """Shaped like requests.HTTPError: the status on `response`."""

    def __init__(self, status_code):
        super().__init__(f"{status_code} error")
        self.response = Response(status_code)


class AuthenticationException(Exception):
    """Same name as paramiko's SFTP login failure."""


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (FakeDriverStateError("42501"), FailureClass.IG_BLOCKER),  # permission denied for table
        (FakeDriverStateError("28P01"), FailureClass.IG_BLOCKER),  # password authentication failed
        (FakeDriverStateError("28000"), FailureClass.IG_BLOCKER),  # login refused (SQL Server 18456 too)
        (FakeDriverStateError("08006"), FailureClass.TRANSIENT),  # connection failure
        (FakeDriverStateError("40001"), FailureClass.TRANSIENT),  # serialisation failure
        (FakeDriverStateError("57P01"), FailureClass.TRANSIENT),  # admin shutdown
        (FakeDriverStateError("42P01"), FailureClass.CODE_DEFECT),  # undefined table: our query is wrong
        (HTTPErrorWithResponse(403), FailureClass.IG_BLOCKER),
        (HTTPErrorWithResponse(503), FailureClass.TRANSIENT),
        (HTTPErrorWithResponse(429), FailureClass.TRANSIENT),
        (AuthenticationException("bad key"), FailureClass.IG_BLOCKER),
        (BrokenPipeError(), FailureClass.TRANSIENT),
    ],
)
def test_driver_and_client_errors_by_code_not_message(error, expected):
    assert classify(error) is expected


# --- the retry policy every task carries: only transient failures are retried ------------------------


def _raised(action):
    """The exception a real call raises."""
    try:
        action()
    except BaseException as error:  # noqa: BLE001 - the error is what the test inspects
        return error
    pytest.fail(f"{action} raised nothing")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _psycopg2_refused(tmp_path):
    import psycopg2

    return _raised(lambda: psycopg2.connect(host="127.0.0.1", port=_closed_port(), user="send", dbname="cms"))


def _sqlalchemy_refused(tmp_path):
    engine = sa.create_engine(f"postgresql+psycopg2://send@127.0.0.1:{_closed_port()}/cms")
    try:
        return _raised(engine.connect)
    finally:
        engine.dispose()


def _duckdb_locked(tmp_path):
    """A real lock conflict: another process holds the DuckDB file read-write."""
    path = str(tmp_path / "build.duckdb")
    hold = f"import duckdb, sys; c = duckdb.connect({path!r}); print('held', flush=True); sys.stdin.read()"
    holder = subprocess.Popen([sys.executable, "-c", hold], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        return _raised(lambda: duckdb.connect(path))
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def _sqlite_locked(tmp_path):
    """A real busy database: another connection holds an exclusive transaction."""
    path = tmp_path / "source.sqlite"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("create table t (x int)")
    writer.execute("begin exclusive")
    try:
        return _raised(lambda: sqlite3.connect(path, timeout=0).execute("insert into t values (1)"))
    finally:
        writer.close()


def _contract_drift(tmp_path):
    from ingestion.contract import check_columns, load_contract

    table = load_contract("la_case_management").tables["ssd_ehcp_requests"]
    present = ["ehcr_request_date" if c == "ehcr_ehcp_req_date" else c for c in table.columns]  # renamed at source
    return _raised(lambda: check_columns("la_case_management.ssd_ehcp_requests", table, present))


TRANSIENT = {
    "psycopg2 connection refused": _psycopg2_refused,
    "SQLAlchemy wrapping it": _sqlalchemy_refused,
    "TimeoutError": lambda tmp_path: TimeoutError("SFTP read timed out"),
    "connection reset": lambda tmp_path: ConnectionResetError(104, "Connection reset by peer"),
    "DuckDB file locked": _duckdb_locked,
    "SQLite database locked": _sqlite_locked,
    "execution timeout": lambda tmp_path: AirflowTaskTimeout("Timeout, PID: 4242"),
    "host unreachable": lambda tmp_path: OSError(errno.EHOSTUNREACH, "No route to host"),
    "stale landing share": lambda tmp_path: OSError(errno.ESTALE, "Stale file handle", str(tmp_path / "inbox")),
    "dbt reporting the DuckDB lock": lambda tmp_path: CosmosDbtRunError(
        'dbt invocation completed with errors: IO Error: Could not set lock on file "build.duckdb"'
    ),
}
NOT_RETRIED = {
    "permission denied": (
        lambda tmp_path: PermissionError(13, "Permission denied", str(tmp_path / "inbox")),
        FailureClass.IG_BLOCKER,
    ),
    "IG register block": (lambda tmp_path: IGBlockedError("agreement suspended"), FailureClass.IG_BLOCKER),
    "contract drift": (_contract_drift, FailureClass.DATA_QUALITY),
    "failed checks": (lambda tmp_path: DataQualityError([], checked=3), FailureClass.DATA_QUALITY),
    "checksum mismatch": (lambda tmp_path: ChecksumMismatch("differs from manifest"), FailureClass.DATA_QUALITY),
    "ValueError": (lambda tmp_path: _raised(lambda: int("12/03")), FailureClass.CODE_DEFECT),
    "file not found": (lambda tmp_path: _raised((tmp_path / "missing.csv").read_text), FailureClass.CODE_DEFECT),
    "KeyError": (lambda tmp_path: _raised(lambda: {}["missing"]), FailureClass.CODE_DEFECT),
    "dbt build failed": (
        lambda tmp_path: CosmosDbtRunError("dbt invocation completed with errors: kpi_values: Compilation Error"),
        FailureClass.CODE_DEFECT,
    ),
}


@pytest.mark.parametrize("make", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_a_transient_failure_is_retried_with_the_tasks_backoff(make, tmp_path):
    error = make(tmp_path)
    assert classify(error) is FailureClass.TRANSIENT, repr(error)
    decision = FailureClassRetryPolicy().evaluate(error, try_number=1, max_tries=2)
    assert decision.action is RetryAction.RETRY
    assert decision.retry_delay is None  # the task's retry_delay and exponential backoff apply


@pytest.mark.parametrize(("make", "expected"), NOT_RETRIED.values(), ids=NOT_RETRIED.keys())
def test_every_other_failure_fails_at_once(make, expected, tmp_path):
    error = make(tmp_path)
    assert classify(error) is expected, repr(error)
    decision = FailureClassRetryPolicy().evaluate(error, try_number=1, max_tries=2)
    assert decision.action is RetryAction.FAIL
    assert decision.reason.startswith(f"{expected} failure ({type(error).__name__})")
    assert decision.reason.endswith(f"docs/runbooks/{expected}.md")


def test_the_decision_reason_never_quotes_the_error():
    # The reason is logged and stored on the task instance: the exception's class only.
    error = _raised(lambda: pa.array(["9434765919x"]).cast(pa.int64()))
    assert "9434765919" in str(error)
    assert "9434765919" not in FailureClassRetryPolicy().evaluate(error, try_number=1, max_tries=2).reason


def test_the_policy_is_what_every_task_gets():
    from orchestration.dag_defaults import DEFAULT_ARGS

    assert isinstance(DEFAULT_ARGS["retry_policy"], FailureClassRetryPolicy)
    assert DEFAULT_ARGS["retry_exponential_backoff"] and DEFAULT_ARGS["retries"] >= 0


# --- alerts carry no identifier ----------------------------------------------------------------------

IDENTIFIERS = ("9434765919", "PR1 2AB", "2014-03-09", "A123456789012")


def _library_errors():
    """Messages real libraries write when a value fails: they quote the value."""
    return [
        _raised(lambda: pa.array(["9434765919x"]).cast(pa.int64())),  # Arrow
        _raised(lambda: pd.to_datetime(pd.Series(["PR1 2AB"]), format="%Y-%m-%d")),  # pandas
        ValueError("row for 2014-03-09 with UPN A123456789012 is a duplicate"),  # a driver's wording
    ]


@pytest.mark.parametrize("error", _library_errors(), ids=["arrow", "pandas", "driver"])
def test_an_alert_withholds_identifiers_the_error_quotes(error, monkeypatch, tmp_path):
    from orchestration.alerts import build_alert

    monkeypatch.setenv("SEND_IG_REGISTER_PATH", str(tmp_path / "no_register.yml"))  # the owner look-up fails too
    ti = SimpleNamespace(dag_id="send_pipeline", task_id="extract_la_case_management", run_id="r", try_number=1,
                         max_tries=2)  # fmt: skip
    alert = build_alert({"ti": ti, "exception": error, "logical_date": "2024-07-01"})
    assert any(value in str(error) for value in IDENTIFIERS)
    assert "[withheld]" in alert["error"]
    assert not [value for value in IDENTIFIERS if value in json.dumps(alert)]


def test_a_dbt_build_failing_only_its_data_tests_is_a_data_quality_failure():
    from cosmos.exceptions import CosmosDbtRunError

    # The message Cosmos builds (cosmos.dbt.runner.handle_exception_if_needed) from dbt's node results.
    tests_only = CosmosDbtRunError(
        "dbt invocation completed with errors: primary_key_kpi_values_kpi_code: Got 3 results, "
        "configured to fail if != 0\naccepted_values_fct_ehcp_plans_status: Got 1 result, configured to fail if != 0"
    )
    model_broken = CosmosDbtRunError(
        "dbt invocation completed with errors: kpi_values: Runtime Error in model kpi_values\n"
        "primary_key_kpi_values_kpi_code: Got 3 results, configured to fail if != 0"
    )
    assert classify(tests_only) is FailureClass.DATA_QUALITY
    assert classify(model_broken) is FailureClass.CODE_DEFECT
    assert classify(CosmosDbtRunError("dbt invocation did not complete with unhandled error: boom")) is (
        FailureClass.CODE_DEFECT
    )


def test_a_host_name_that_does_not_resolve_is_transient():
    import psycopg2

    with pytest.raises(psycopg2.OperationalError) as error:
        psycopg2.connect(host="no-such-host.invalid", dbname="x", connect_timeout=3)
    assert "could not translate host name" in str(error.value)
    assert classify(error.value) is FailureClass.TRANSIENT


def test_a_scorecard_build_failure_is_its_own_class_whatever_caused_it():
    from scorecard.errors import ScorecardBuildError

    try:
        try:
            raise PermissionError("cannot write the site")  # would be an IG blocker anywhere else
        except PermissionError as cause:
            raise ScorecardBuildError("scorecard: PermissionError") from cause
    except ScorecardBuildError as error:
        assert classify(error) is FailureClass.SCORECARD
