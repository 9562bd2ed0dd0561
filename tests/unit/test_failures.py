import pytest

from ingestion.contract import ContractDriftError
from ingestion.load import ChecksumMismatch
from orchestration.failures import FailureClass, IGBlockedError, classify
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
