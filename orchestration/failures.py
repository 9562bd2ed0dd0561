"""Failure classes: the one place that decides what kind of failure an exception is.

The class picks the alert's audience and runbook, and whether a retry can help:
transient (retry with backoff, then on-call), ig_blocker (no retry, fall back, tell the data
owner), data_quality (stop publication, tell the data owner), code_defect (on-call, fix code).
"""

from __future__ import annotations

from enum import StrEnum

from ingestion.contract import ContractDriftError
from ingestion.load import ChecksumMismatch
from warehouse.quality import DataQualityError, QualityRuntimeError


class FailureClass(StrEnum):
    TRANSIENT = "transient"
    IG_BLOCKER = "ig_blocker"
    DATA_QUALITY = "data_quality"
    CODE_DEFECT = "code_defect"


class IGBlockedError(RuntimeError):
    """A feed may not be read: suspended or expired agreement, or access refused at run time."""


_ACCESS_DENIED_STATUS = {401, 403}


def classify(exc: BaseException | None) -> FailureClass:
    for error in _chain(exc):
        if isinstance(error, IGBlockedError | PermissionError):
            return FailureClass.IG_BLOCKER
        if getattr(error, "status_code", None) in _ACCESS_DENIED_STATUS:
            return FailureClass.IG_BLOCKER
        if isinstance(error, DataQualityError | ContractDriftError | ChecksumMismatch):
            return FailureClass.DATA_QUALITY
        if isinstance(error, TimeoutError | ConnectionResetError | ConnectionRefusedError):  # incl. socket.timeout
            return FailureClass.TRANSIENT
        if isinstance(error, QualityRuntimeError):
            return FailureClass.CODE_DEFECT
    return FailureClass.CODE_DEFECT


def _chain(exc: BaseException | None):
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__
