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
