"""Failure classes: the one place that decides what kind of failure an exception is.

The class picks the alert's audience and runbook, and whether a retry can help:
transient (retry with backoff, then on-call), ig_blocker (no retry, fall back, tell the data
owner), data_quality (stop publication, tell the data owner), code_defect (on-call, fix code).
"""

from __future__ import annotations

import re
from enum import StrEnum


class FailureClass(StrEnum):
    TRANSIENT = "transient"
    IG_BLOCKER = "ig_blocker"
    DATA_QUALITY = "data_quality"
    CODE_DEFECT = "code_defect"


class IGBlockedError(RuntimeError):
    """A feed may not be read: suspended or expired agreement, or access refused at run time."""


# HTTP (blob storage, APIs, webhooks): refused access vs a service that will probably come back.
_ACCESS_DENIED_STATUS = {401, 403}
_TRANSIENT_STATUS = {408, 429, 502, 503, 504}
# SQLSTATE: 28xxx invalid authorisation (login failed, SQL Server 18456 and pyodbc report 28000 too),
# 42501 insufficient privilege (a revoked GRANT). 08xxx connection exceptions, 40001 serialisation
# failure, 53300 too many connections, 57P0x server shutting down are worth a retry.
_ACCESS_DENIED_SQLSTATE = re.compile(r"28[0-9A-Z]{3}|42501")
_TRANSIENT_SQLSTATE = re.compile(r"08[0-9A-Z]{3}|40001|53300|57P0[1-3]")
# libpq reports login failures at connect time with no SQLSTATE: recognise the server's FATAL text.
_PG_LOGIN_REFUSED = re.compile(
    r"password authentication failed|is not permitted to log in|no pg_hba\.conf entry"
    r"|permission denied for database|role \"[^\"]+\" does not exist"
)
_PG_UNREACHABLE = re.compile(r"Connection refused|timeout expired|server closed the connection unexpectedly")
# Exception classes of optional clients, matched by name so their libraries need not be installed.
_ACCESS_DENIED_CLASSES = {"AuthenticationException", "ClientAuthenticationError", "BadAuthenticationType"}


def classify(exc: BaseException | None) -> FailureClass:
    # Imported here: every DAG file imports this module through the notifier, and these modules pull
    # in pandas, pyarrow and duckdb (about 1.5 s of DAG parsing).
    from ingestion.contract import ContractDriftError
    from ingestion.load import ChecksumMismatch
    from warehouse.quality import DataQualityError, QualityRuntimeError

    for error in _chain(exc):
        if _access_denied(error):
            return FailureClass.IG_BLOCKER
        if isinstance(error, DataQualityError | ContractDriftError | ChecksumMismatch):
            return FailureClass.DATA_QUALITY
        if _transient(error):
            return FailureClass.TRANSIENT
        if isinstance(error, QualityRuntimeError):
            return FailureClass.CODE_DEFECT
    return FailureClass.CODE_DEFECT


def _access_denied(error: BaseException) -> bool:
    if isinstance(error, IGBlockedError | PermissionError):
        return True
    if _status_code(error) in _ACCESS_DENIED_STATUS:
        return True
    if any(cls.__name__ in _ACCESS_DENIED_CLASSES for cls in type(error).__mro__):
        return True
    state = _sqlstate(error)
    if state:
        return bool(_ACCESS_DENIED_SQLSTATE.fullmatch(state))
    return _is_driver_error(error) and bool(_PG_LOGIN_REFUSED.search(str(error)))


def _transient(error: BaseException) -> bool:
    if isinstance(error, TimeoutError | ConnectionError):  # resets, refusals, broken pipes, socket timeouts
        return True
    if _status_code(error) in _TRANSIENT_STATUS:
        return True
    state = _sqlstate(error)
    if state:
        return bool(_TRANSIENT_SQLSTATE.fullmatch(state))
    return _is_driver_error(error) and bool(_PG_UNREACHABLE.search(str(error)))


def _status_code(error: BaseException) -> int | None:
    code = getattr(error, "status_code", None)
    if code is None:  # requests.HTTPError keeps it on the response
        code = getattr(getattr(error, "response", None), "status_code", None)
    return code if isinstance(code, int) else None


def _sqlstate(error: BaseException) -> str | None:
    for attribute in ("sqlstate", "pgcode"):  # psycopg 3, psycopg2
        state = getattr(error, attribute, None)
        if isinstance(state, str):
            return state
    if type(error).__module__.startswith("pyodbc") and error.args and isinstance(error.args[0], str):
        return error.args[0]
    return None


def _is_driver_error(error: BaseException) -> bool:
    return type(error).__module__.split(".")[0] in {"psycopg", "psycopg2", "pyodbc", "pymssql"}


def _chain(exc: BaseException | None):
    """The exception, then what caused it: SQLAlchemy keeps the driver's error in `orig`."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
