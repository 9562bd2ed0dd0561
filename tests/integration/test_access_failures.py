"""Failure classification on errors raised by the real drivers against the local PostgreSQL.

Login refusals at connect time carry no SQLSTATE in libpq, a revoked GRANT does; both must read as
information-governance blockers (not retried), an unreachable server as transient (retried)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from airflow.sdk import RetryAction

from orchestration.failures import FailureClass, classify
from orchestration.retry import FailureClassRetryPolicy


def _error_of(url: str, sql: str = "select 1") -> BaseException:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    except Exception as error:  # noqa: BLE001 - the error is what the test inspects
        return error
    finally:
        engine.dispose()
    pytest.fail(f"{sql!r} on {url} did not fail")


def _retry_action(error: BaseException) -> RetryAction:
    return FailureClassRetryPolicy().evaluate(error, try_number=1, max_tries=2).action


@pytest.fixture
def admin(pg_url):
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_revoked_login_is_an_ig_blocker(admin, pg_url, driver):
    role = f"ig_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"create role {role} nologin")
    try:
        url = sa.make_url(pg_url).set(drivername=f"postgresql+{driver}", username=role)
        error = _error_of(url.render_as_string(hide_password=False))
        assert classify(error) is FailureClass.IG_BLOCKER
        assert _retry_action(error) is RetryAction.FAIL  # retrying a refused login can lock the account
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"drop role {role}")


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_revoked_grant_is_an_ig_blocker(admin, pg_url, driver):
    role = f"ig_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql("create table cms_person (id int)")
        conn.exec_driver_sql(f"create role {role} login")
        conn.exec_driver_sql(f"revoke all on cms_person from {role}")
    try:
        url = sa.make_url(pg_url).set(drivername=f"postgresql+{driver}", username=role)
        error = _error_of(url.render_as_string(hide_password=False), "select * from cms_person")
        assert classify(error) is FailureClass.IG_BLOCKER
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("drop table cms_person")
            conn.exec_driver_sql(f"drop role {role}")


def test_unreachable_server_is_transient(pg_url):
    url = sa.make_url(pg_url).set(port=1)  # nothing listens on port 1
    error = _error_of(url.render_as_string(hide_password=False))
    assert classify(error) is FailureClass.TRANSIENT
    assert _retry_action(error) is RetryAction.RETRY


def test_missing_table_is_a_code_defect(pg_url):
    assert classify(_error_of(pg_url, "select * from no_such_table")) is FailureClass.CODE_DEFECT
