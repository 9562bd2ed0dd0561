"""Soda gate and publication on real DuckDB files: a failed check publishes nothing."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import SODA_CHECKS_DIR
from warehouse import ledger, publish, quality


@pytest.fixture
def contracts(tmp_path):
    """The real contracts of the two marts built here (the others need the whole warehouse: see
    test_pipeline_dag, which verifies every contract)."""
    target = tmp_path / "contracts" / "marts"
    target.mkdir(parents=True)
    for table in ("kpi_values", "kpi_catalogue"):
        shutil.copy(SODA_CHECKS_DIR / "contracts" / "marts" / f"{table}.yml", target)
    return target.parent


KPI_ROW = """(
    'EHCP_20WK_ALL', 'E10000017', date '2024-05-01', date '2024-05-31', 'month', {num}, {den}, {value},
    'percent', 60.0, 'green', 'feed', 'la_case_management', false, now(), '{run_id}',
    'EHC plans in 20 weeks', 'Priority II', 'higher_is_better', 45.0, 'la', 'E10000017')"""


def _warehouse(path: Path, num: int = 3, den: int = 5, run_id: str = "run-1") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        """create table marts.kpi_values (
            kpi_code varchar, area_code varchar, period_start date, period_end date, period_type varchar,
            numerator bigint, denominator bigint, value double, unit varchar, target double, rag varchar,
            provenance varchar, source varchar, is_suppressed boolean, refreshed_at timestamptz, run_id varchar,
            kpi_name varchar, priority_area varchar, direction varchar, amber_threshold double, area_type varchar,
            la_code varchar)"""
    )
    con.execute(
        "insert into marts.kpi_values values " + KPI_ROW.format(num=num, den=den, value=100 * num / den, run_id=run_id)
    )
    con.execute(
        "create table marts.kpi_catalogue as select 'EHCP_20WK_ALL' as kpi_code, 'EHC plans in 20 weeks' as kpi_name, "
        "'Priority II' as priority_area, 'd' as definition, 'n' as numerator_definition, "
        "'d' as denominator_definition, 'percent' as unit, 'higher_is_better' as direction, 60.0::double as target, "
        "45.0::double as amber_threshold, 'la_case_management' as computing_feed, null::varchar as aggregate_feed, "
        "true as manual_allowed"
    )
    return con


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_good_marts_pass_and_results_are_recorded(tmp_path, contracts):
    con = _warehouse(tmp_path / "build.duckdb")
    results = quality.gate(con, contracts, "run-1")
    assert results and all(r.outcome == "passed" for r in results)
    stored = con.execute("select count(*), count(distinct check_name) from ops.data_quality_results").fetchone()
    assert stored[0] == len(results)


def test_blocking_failure_names_the_check_and_publishes_nothing(tmp_path, contracts):
    good = _warehouse(tmp_path / "good.duckdb")
    published = tmp_path / "published" / "send.duckdb"
    publish.publish(good, published)
    before = _digest(published)

    bad = _warehouse(tmp_path / "build.duckdb", num=7, den=5, run_id="run-2")  # numerator > denominator, 140%
    with pytest.raises(quality.DataQualityError) as error:
        quality.gate(bad, contracts, "run-2")
    failed = {r.check_name for r in error.value.failed}
    assert "numerator never exceeds denominator" in failed
    assert "percentages lie between 0 and 100" in failed
    assert "marts.kpi_values" in str(error.value)
    assert _digest(published) == before
    recorded = bad.execute("select count(*) from ops.data_quality_results where outcome = 'failed'").fetchone()[0]
    assert recorded == len(error.value.failed)


def test_soda_runtime_error_fails_the_gate(tmp_path, contracts):
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))  # no marts at all: Soda cannot verify
    with pytest.raises(quality.QualityRuntimeError, match="kpi_"):
        quality.gate(con, contracts, "run-1")


def test_unparseable_contract_fails_the_gate(tmp_path, contracts):
    (contracts / "marts" / "kpi_values.yml").write_text("dataset: send_warehouse/marts/kpi_values\nchecks: [\n")
    with pytest.raises(quality.QualityRuntimeError, match="kpi_values.yml"):
        quality.gate(_warehouse(tmp_path / "build.duckdb"), contracts, "run-1")


def _published(con, contracts: Path, run_id: str, as_of: str) -> list[quality.CheckResult]:
    """Gate and record the run published, as the DAG does; the marts carry the run's id, as its build would."""
    con.execute("update marts.kpi_values set run_id = ?", [run_id])
    results = quality.gate(con, contracts, run_id)
    ledger.record_run(con, run_id, as_of, "published", checks_run=len(results), checks_failed=0)
    return results


def _row_drop(results: list[quality.CheckResult], dataset: str = "marts.kpi_values") -> quality.CheckResult:
    return next(r for r in results if r.dataset == dataset and r.check_name == quality.ROW_DROP_CHECK)


def test_sudden_drop_in_rows_since_the_last_publication_blocks(tmp_path, contracts):
    con = _warehouse(tmp_path / "build.duckdb")
    con.execute("insert into marts.kpi_values select * replace (area_code || 'x' as area_code) from marts.kpi_values")
    assert _row_drop(_published(con, contracts, "run-1", "2024-07-01")).outcome == "passed"  # nothing to compare with
    con.execute("delete from marts.kpi_values where area_code like '%x'")  # 2 rows -> 1: half, a warning
    dropped = _row_drop(_published(con, contracts, "run-2", "2024-07-02"))
    assert (dropped.outcome, dropped.measured_value, dropped.diagnostics["previous_rows"]) == ("warned", 1, 2)
    con.execute("insert into marts.kpi_values select * replace (area_code || 'x' as area_code) from marts.kpi_values")
    con.execute("insert into marts.kpi_values select * replace (area_code || 'y' as area_code) from marts.kpi_values")
    assert _row_drop(_published(con, contracts, "run-3", "2024-07-03")).outcome == "passed"  # growth is fine
    con.execute("delete from marts.kpi_values where area_code like '%x' or area_code like '%y'")  # 4 -> 1
    con.execute("update marts.kpi_values set run_id = 'run-4'")
    with pytest.raises(quality.DataQualityError, match="marts.kpi_values: no drop of more than 50%") as error:
        quality.gate(con, contracts, "run-4")
    assert [(r.dataset, r.diagnostics["previous_rows"]) for r in error.value.failed] == [("marts.kpi_values", 4)]


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
    assert counts == {"marts.kpi_catalogue": 1, "marts.kpi_values": 1}
    assert _read_numerator(published) == 4
    assert not list(published.parent.glob(".*.tmp"))


def test_warning_level_check_publishes_but_is_recorded(tmp_path, contracts):
    (contracts / "marts" / "kpi_warning.yml").write_text(
        """dataset: send_warehouse/marts/kpi_values
columns:
  - name: kpi_code
checks:
  - row_count:
      name: at least a thousand rows would be nice
      threshold:
        level: warn
        must_be_greater_than: 1000
"""
    )
    con = _warehouse(tmp_path / "build.duckdb")
    results = quality.gate(con, contracts, "run-1")  # does not raise
    warned = [r for r in results if r.outcome == "warned"]
    assert [r.check_name for r in warned] == ["at least a thousand rows would be nice"]
    assert not warned[0].blocking
    stored = con.execute("select outcome from ops.data_quality_results where check_name like 'at least%'").fetchall()
    assert stored == [("warned",)]
