"""Failure classes: the one place that decides what kind of failure an exception is.

The class picks the alert's audience and runbook, and whether a retry can help (every task's retry
policy asks `classify`, orchestration/retry.py): transient (retry with backoff, then on-call),
ig_blocker (no retry, fall back, tell the data owner), data_quality (no retry, stop publication, tell
the data owner), code_defect (no retry, on-call, fix code), scorecard (the board pages failed after the
marts were published: no retry, the marts stay published, rebuild the pages).
"""

from __future__ import annotations

import errno
import re
from enum import StrEnum


class FailureClass(StrEnum):
    TRANSIENT = "transient"
    IG_BLOCKER = "ig_blocker"
    DATA_QUALITY = "data_quality"
    CODE_DEFECT = "code_defect"
    SCORECARD = "scorecard"


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
_PG_UNREACHABLE = re.compile(
    r"Connection refused|timeout expired|server closed the connection unexpectedly|could not translate host name"
)
# Cosmos reports a dbt build whose only failures are data tests as lines "<test>: Got N results,
# configured to fail if != 0": the data failed its checks (docs/runbooks/data_quality.md), not the code.
_DBT_ERRORS = "dbt invocation completed with errors:"
_DBT_TEST_FAILED = re.compile(r"configured to (fail|warn) if")
# Another process holds the file: DuckDB's lock (raised by duckdb, or reported by dbt through Cosmos as text)
# and SQLite's busy database. The holder finishes; a later try gets the file.
_FILE_LOCKED = re.compile(r"Could not set lock on file|database is locked")
_FILE_LOCK_MODULES = {"_duckdb", "duckdb", "sqlite3", "cosmos"}
# A network or a mounted landing share that went away for a moment (OSErrors that are no ConnectionError).
_TRANSIENT_ERRNO = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN, errno.ESTALE}
# Exception classes of optional clients, matched by name so their libraries need not be installed.
_ACCESS_DENIED_CLASSES = {"AuthenticationException", "ClientAuthenticationError", "BadAuthenticationType"}


def classify(exc: BaseException | None) -> FailureClass:
    # Imported here: every DAG file imports this module through the notifier, and these modules pull
    # in pandas, pyarrow and duckdb (about 1.5 s of DAG parsing).
    from ingestion.contract import ContractDriftError
    from ingestion.load import ChecksumMismatch
    from scorecard.errors import ScorecardBuildError
    from warehouse.quality import DataQualityError, QualityRuntimeError

    if isinstance(exc, ScorecardBuildError):  # whatever caused it, the marts are out and the pages are not
        return FailureClass.SCORECARD
    for error in _chain(exc):
        if _access_denied(error):
            return FailureClass.IG_BLOCKER
        if isinstance(error, DataQualityError | ContractDriftError | ChecksumMismatch) or _dbt_tests_failed(error):
            return FailureClass.DATA_QUALITY
        if _transient(error):
            return FailureClass.TRANSIENT
        if isinstance(error, QualityRuntimeError):
            return FailureClass.CODE_DEFECT
    return FailureClass.CODE_DEFECT


def _dbt_tests_failed(error: BaseException) -> bool:
    if type(error).__name__ != "CosmosDbtRunError" or not str(error).startswith(_DBT_ERRORS):
        return False
    lines = [line for line in str(error).removeprefix(_DBT_ERRORS).splitlines() if line.strip()]
    return bool(lines) and all(_DBT_TEST_FAILED.search(line) for line in lines)


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
    # The task's execution_timeout (a BaseException, matched by name): a source or lock that hung.
    if type(error).__name__ == "AirflowTaskTimeout":
        return True
    if isinstance(error, OSError) and error.errno in _TRANSIENT_ERRNO:
        return True
    if type(error).__module__.split(".")[0] in _FILE_LOCK_MODULES and _FILE_LOCKED.search(str(error)):
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
