"""The DfE children's services statistical neighbours as a feed, and the benchmarks built on them.

The list (`../shared/reference/statistical_neighbours/sn_2025_long.csv`) lands through the feed's own
read function, as the DAG's extract task calls it, with every row accounted for; the DAG has its
extract/load pair without anyone naming the feed. Then the DfE EHC plans release and the list are loaded
and the whole dbt project is built (the other feeds delivered nothing), and Lancashire's 2024 20-week
timeliness is set against its ten statistical neighbours: the neighbours' values, their mean, Lancashire's
rank and its quartile band must equal a computation written here straight from the two CSV files with the
csv module (LAIT's rules: the unweighted mean of the neighbours that have a value; rank 1 = best, ties
sharing the best rank; quartiles by linear interpolation, R's default, A the best quarter).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import statistics
from pathlib import Path

import duckdb
import pytest

from ingestion import landing, load, registry
from ingestion.dfe_ehcp_statistics import release
from ingestion.feed import ReadRequest
from orchestration.settings import DBT_PRODUCTION_FLAGS, REPO_ROOT, SODA_CHECKS_DIR
from tests.conftest import FIGURES
from tests.dbt_cli import dbt_build

REFERENCE = REPO_ROOT.parent / "shared" / "reference"
NEIGHBOURS = REFERENCE / "statistical_neighbours"
DFE_RELEASE = REFERENCE / "dfe_ehcp_2025"
LANCASHIRE = "E10000017"
AS_OF = dt.date(2025, 7, 1)
RUN = "test__statistical_neighbours"
# The 20-week measures: benchmark_ehcp's name -> the release's column (timeliness_20_week.csv).
TWENTY_WEEKS = {
    "plans_issued_within_20_weeks_pc": "pc_plans_issued_within_20_weeks",
    "plans_issued_within_20_weeks_ex_pc": "PC_plans_issued_20_weeks_ex",
}
BENCHMARK_CONTRACTS = ("benchmark_ehcp", "kpi_benchmarks", "dim_area", "dim_area_neighbours", "kpi_catalogue")


def _needs_reference() -> None:
    for folder in (NEIGHBOURS, DFE_RELEASE):
        if not folder.is_dir():
            pytest.skip(f"public reference data not at {folder} (it ships beside the checkout, not in the repository)")


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """The list landed through the feed's read function, as the extract task calls it."""
    _needs_reference()
    work = tmp_path_factory.mktemp("statistical_neighbours")
    feed = registry.feed("statistical_neighbours")
    request = ReadRequest(
        feed=feed, location=str(NEIGHBOURS), landing_dir=work / "landing", key=b"k" * 32, run_id=RUN, as_of=AS_OF
    )
    manifest_path = feed.reader()(request)
    return work, manifest_path, landing.read_manifest(manifest_path)


def test_the_list_lands_through_its_read_function_every_row_accounted_for(landed):
    work, manifest_path, manifest = landed
    status = {f.name: f.status for f in manifest.files}
    assert status == {"sn_2025_long.csv": "loaded", "SOURCE.md": "ignored"}  # the source note is not data
    (table,) = manifest.tables
    rows = [r for r in csv.reader((NEIGHBOURS / "sn_2025_long.csv").open(newline="")) if r][1:]  # empty last line
    assert table.rows_in == len(rows) == 1530
    assert table.rows_in == table.rows_loaded + table.rows_rejected and table.rows_rejected == 0
    with duckdb.connect(str(work / "raw.duckdb")) as con:
        assert load.load_batch(con, manifest_path) == 1530
        counts = con.execute(
            "select sum(rows_in), sum(rows_loaded), sum(rows_rejected) from ops.loaded_files "
            "where feed = 'statistical_neighbours'"
        ).fetchone()
        assert counts == (1530, 1530, 0)
        bands = dict(
            con.execute("select SN_prox, count(*) from raw_statistical_neighbours.neighbours group by 1").fetchall()
        )
    # Published `Close ` (trailing space, 513 rows) is a code like the others: compared trimmed, upper-cased.
    assert bands == {"VERY CLOSE": 820, "CLOSE": 513, "SOMEWHAT CLOSE": 136, "NOT CLOSE": 49, "EXTREMELY CLOSE": 12}


def test_the_dag_grows_its_extract_and_load_pair_by_itself():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    assert bag.import_errors == {}
    dag = bag.dags["send_pipeline"]
    extract, load_task = dag.get_task("extract_statistical_neighbours"), dag.get_task("load_statistical_neighbours")
    assert load_task.task_id in extract.downstream_task_ids
    assert "dbt.plan" in load_task.downstream_task_ids


# --- The benchmarks on a real build --------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(landed) -> Path:
    work, manifest_path, _ = landed
    built = work / "build.duckdb"
    with duckdb.connect(str(built)) as con:
        load.load_batch(con, release.intake(DFE_RELEASE, work / "landing_dfe", b"k" * 32, "release-2025", set()))
        load.load_batch(con, manifest_path)
        for feed in registry.names():
            load.ensure_raw_tables(con, feed)  # the other feeds delivered nothing here
    # Unit tests are left to tests/integration/test_dbt_unit_tests.py, as in production builds.
    build = dbt_build(built, work, *DBT_PRODUCTION_FLAGS, env={"SEND_AS_OF": AS_OF.isoformat(), "SEND_RUN_ID": RUN})
    assert build.returncode == 0, build.stdout[-5000:]
    return built


def _number(text: str) -> float | None:
    """A release cell: `x`, `z` and the other EES symbols are no value."""
    try:
        return float(text)
    except ValueError:
        return None


def expected_from_the_csv_files(column: str) -> dict:
    """Lancashire's 2024 figure, its neighbours' values and mean, its rank and band, from the CSVs alone."""
    with (NEIGHBOURS / "sn_2025_long.csv").open(newline="") as handle:
        listed = [r for r in csv.DictReader(handle) if r["la_code"] == LANCASHIRE]
    neighbours = [(int(r["SN"]), r["SN_code"], r["SN_prox"].strip()) for r in listed]
    with (DFE_RELEASE / "timeliness_20_week.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = [
            r
            for r in csv.DictReader(handle)
            if r["time_period"] == "2024"
            and r["geographic_level"] == "Local authority"
            and r["breakdown_topic"] == "All EHC plans issued"
        ]
    value = {r["new_la_code"]: _number(r[column]) for r in rows}
    assert all(code in value for _, code, _ in neighbours), "every neighbour is in the release under its list code"
    neighbour_values = [(rank, code, band, value[code]) for rank, code, band in sorted(neighbours)]
    present = [v for *_, v in neighbour_values if v is not None]
    everyone = [v for v in value.values() if v is not None]
    lower, median, upper = statistics.quantiles(everyone, n=4, method="inclusive")  # R type 7
    own = value[LANCASHIRE]
    # Higher is better: A is the top quarter; a value on a quartile takes the band below it (LAIT).
    band = "D" if own <= lower else "C" if own <= median else "B" if own <= upper else "A"
    return {
        "la_value": own,
        "neighbours": neighbour_values,
        "neighbour_average": sum(present) / len(present),
        "neighbours_with_value": len(present),
        "performance_rank": 1 + sum(v > own for v in everyone),
        "las_ranked": len(everyone),
        "quartiles": (lower, median, upper),
        "quartile_band": band,
    }


@pytest.mark.parametrize("measure", TWENTY_WEEKS)
def test_lancashire_2024_against_its_statistical_neighbours_equals_the_csv_files(warehouse, measure):
    expected = expected_from_the_csv_files(TWENTY_WEEKS[measure])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(
            "select la_value, neighbour_average, neighbours_with_value, neighbours_listed, performance_rank, "
            "las_ranked, quartile_band, las_lower_quartile, las_median, las_upper_quartile, direction "
            "from marts.benchmark_ehcp where area_code = ? and measure = ? and time_period = '2024'",
            [LANCASHIRE, measure],
        ).fetchone()
        neighbours = con.execute(
            "select listed.neighbour_rank, listed.neighbour_gss_code, listed.closeness_band, benchmark.la_value "
            "from marts.dim_area_neighbours as listed "
            "left join marts.benchmark_ehcp as benchmark on benchmark.area_code = listed.neighbour_area_code "
            "and benchmark.measure = ? and benchmark.time_period = '2024' "
            "where listed.area_code = ? order by listed.neighbour_rank",
            [measure, LANCASHIRE],
        ).fetchall()
        kpi = con.execute(
            "select la_value, neighbour_average, quartile_band, performance_rank from marts.kpi_benchmarks "
            "where area_code = ? and measure = ? and time_period = '2024'",
            [LANCASHIRE, measure],
        ).fetchone()
        listed = con.execute(
            "select neighbour_area_codes, icb_code from marts.dim_area where area_code = ?", [LANCASHIRE]
        ).fetchone()
    la_value, average, with_value, listed_count, rank, ranked, band, lower, median, upper, direction = row
    assert direction == "higher_is_better"
    assert [tuple(n) for n in neighbours] == expected["neighbours"]
    assert la_value == expected["la_value"]
    assert average == pytest.approx(expected["neighbour_average"], abs=1e-9)
    assert (with_value, listed_count) == (expected["neighbours_with_value"], 10)
    assert (rank, ranked, band) == (expected["performance_rank"], expected["las_ranked"], expected["quartile_band"])
    assert (lower, median, upper) == pytest.approx(expected["quartiles"], abs=1e-9)
    assert kpi == (la_value, average, band, rank)  # the KPI's row shows the same benchmark
    assert listed == (",".join(code for _, code, *_ in expected["neighbours"]), "E54000048")
    values = ", ".join(f"{code} {v}" for _, code, _, v in expected["neighbours"])
    FIGURES.append(
        f"Lancashire 2024 {measure}: {la_value} against its neighbours' mean {average:.2f} ({values}); "
        f"rank {rank} of {ranked}, quartile band {band} (quartiles {lower:g} / {median:g} / {upper:g})"
    )


def test_the_benchmark_contracts_pass_on_the_build(warehouse, tmp_path):
    from warehouse import quality

    contracts = tmp_path / "contracts" / "marts"
    contracts.mkdir(parents=True)
    for name in BENCHMARK_CONTRACTS:
        shutil.copy(SODA_CHECKS_DIR / "contracts" / "marts" / f"{name}.yml", contracts)
    copy = tmp_path / "build.duckdb"
    shutil.copy(warehouse, copy)  # Soda's cursor writes nothing, but the build stays the test's own
    with duckdb.connect(str(copy)) as con:
        results = quality.verify(con, contracts.parent, RUN)
    failed = [(r.contract, r.check_name, r.measured_value) for r in results if r.outcome != "passed"]
    assert results and not failed, failed
