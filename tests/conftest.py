"""Shared fixtures. Airflow reads its configuration at import, so the environment is set here,
before any test imports airflow: a private AIRFLOW_HOME and data folder per test session."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="send-tests-"))
os.environ.update(__import__("devtools.environment", fromlist=["local_environment"]).local_environment(_SESSION_DIR))
# Every DAG run builds the scorecard's pages; printing its PDF board packs (~10 s a run) is left to the
# test of the scorecard itself (tests/integration/test_scorecard.py turns it back on).
os.environ["SEND_SCORECARD_PDF"] = "0"

FIGURES: list[str] = []  # measurements tests report at the end of the run (e.g. DAG parse time)
PG_ADMIN_URL = os.environ.get("SEND_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def session_dir() -> Path:
    return _SESSION_DIR


@pytest.fixture
def key() -> bytes:
    return b"test-key-" + b"0" * 32


@contextlib.contextmanager
def _pg_database():
    """A fresh PostgreSQL database on the machine's server, dropped afterwards; skips if unreachable."""
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("select 1")
    except Exception as error:  # noqa: BLE001 - any failure to connect means "no server here"
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(error).__name__}")
    name = f"send_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"create database {name}")
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"drop database if exists {name} with (force)")
        admin.dispose()


@pytest.fixture
def pg_url():
    with _pg_database() as url:
        yield url


@pytest.fixture(scope="module")
def module_pg_url():
    with _pg_database() as url:
        yield url


@pytest.fixture(autouse=True)
def _report_figures(request):
    """Figures a test (or a fixture it used) measured travel with its report: under pytest-xdist a
    worker's FIGURES never reach the process that prints the summary."""
    yield
    while FIGURES:
        request.node.user_properties.append(("figure", FIGURES.pop(0)))


def pytest_terminal_summary(terminalreporter):
    figures = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "teardown"
        for name, value in getattr(report, "user_properties", ())
        if name == "figure"
    ]
    if figures:
        terminalreporter.section("figures")
        for line in dict.fromkeys(figures):
            terminalreporter.write_line(line)
