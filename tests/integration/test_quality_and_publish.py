"""Soda gate and publication on real DuckDB files: a failed check publishes nothing."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import SODA_CHECKS_DIR
from warehouse import publish, quality

CONTRACTS = SODA_CHECKS_DIR / "contracts"
KPI_ROW = """(
    'EHCP_20WK_ALL', 'E10000017', date '2024-05-01', date '2024-05-31', 'month', {num}, {den}, {value},
    'percent', 60.0, 'green', 'feed', 'la_case_management', false, now(), 'run-1')"""


def _warehouse(path: Path, num: int = 3, den: int = 5) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        """create table marts.kpi_values (
            kpi_code varchar, area_code varchar, period_start date, period_end date, period_type varchar,
            numerator bigint, denominator bigint, value double, unit varchar, target double, rag varchar,
            provenance varchar, source varchar, is_suppressed boolean, refreshed_at timestamptz, run_id varchar)"""
    )
    con.execute("insert into marts.kpi_values values " + KPI_ROW.format(num=num, den=den, value=100 * num / den))
    return con


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_good_marts_pass_and_results_are_recorded(tmp_path):
    con = _warehouse(tmp_path / "build.duckdb")
    results = quality.gate(con, CONTRACTS, "run-1")
    assert results and all(r.outcome == "passed" for r in results)
    stored = con.execute("select count(*), count(distinct check_name) from ops.data_quality_results").fetchone()
    assert stored[0] == len(results)


def test_blocking_failure_names_the_check_and_publishes_nothing(tmp_path):
    good = _warehouse(tmp_path / "good.duckdb")
    published = tmp_path / "published" / "send.duckdb"
    publish.publish(good, published)
    before = _digest(published)

    bad = _warehouse(tmp_path / "build.duckdb", num=7, den=5)  # numerator above denominator, value 140%
    with pytest.raises(quality.DataQualityError) as error:
        quality.gate(bad, CONTRACTS, "run-2")
    failed = {r.check_name for r in error.value.failed}
    assert "numerator never exceeds denominator" in failed
    assert "percentages lie between 0 and 100" in failed
    assert "marts.kpi_values" in str(error.value)
    assert _digest(published) == before
    recorded = bad.execute("select count(*) from ops.data_quality_results where outcome = 'failed'").fetchone()[0]
    assert recorded == len(error.value.failed)


def test_soda_runtime_error_fails_the_gate(tmp_path):
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))  # no marts at all: Soda cannot verify
    with pytest.raises((quality.QualityRuntimeError, quality.DataQualityError)):
        quality.gate(con, CONTRACTS, "run-1")


def _read_numerator(published: Path) -> int:
    """Read in a new process, as a BI tool would (a process keeps the file version it opened)."""
    code = (
        "import duckdb,sys; c=duckdb.connect(sys.argv[1], read_only=True); "
        "print(c.execute('select numerator from marts.kpi_values').fetchone()[0])"
    )
    return int(
        subprocess.run([sys.executable, "-c", code, str(published)], capture_output=True, text=True, check=True).stdout
    )


def test_publish_replaces_the_file_while_a_reader_holds_it_open(tmp_path):
    published = tmp_path / "published" / "send.duckdb"
    publish.publish(_warehouse(tmp_path / "a.duckdb", num=1, den=5), published)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb,sys,time; c=duckdb.connect(sys.argv[1], read_only=True); "
         "print(c.execute('select numerator from marts.kpi_values').fetchone()[0], flush=True); time.sleep(30)",
         str(published)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "1"  # the reader has the file open
        counts = publish.publish(_warehouse(tmp_path / "b.duckdb", num=4, den=5), published)
        assert holder.poll() is None  # publishing did not wait for, or break, the reader
    finally:
        holder.kill()
    assert counts == {"marts.kpi_values": 1}
    assert _read_numerator(published) == 4
    assert not list(published.parent.glob(".*.tmp"))
