"""Calendar-year 20-week and 6-week figures of the KPI mart against an independent computation.

The LA source is generated at the `lancashire` scale (SQLite, with the scale's default share of dirty
rows), extracted and loaded by ingestion, and the whole dbt project is built. The expected figures
are then computed with pandas straight from the SQLite rows, not through any model: the DfE method
for the 20-week measure (plans issued in the year, request received date to issue date, day 140 on
time; exception cases removed from numerator and denominator for "excluding exceptions") and the
6-week decision measure (Y / N decisions made in the year, day 42 on time).

Dirty rows: rows ingestion rejected are read back from ops.rejected_rows (by table and key) and left
out of the independent computation too, rather than generating clean data with --dirty-rate 0, so
the test also covers what real extracts carry (untidy codes, out-of-order and placeholder dates,
orphans). Codes are trimmed and upper-cased as the contract's validation does.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingestion import load
from ingestion.la_case_management import extract
from orchestration.settings import DBT_PRODUCTION_FLAGS
from synthetic.la_case_management import generate
from tests.dbt_cli import dbt_build

AREA = "E10000017"
AS_OF = dt.date(2026, 10, 31)
YEARS = (2023, 2024, 2025)


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("kpi_calendar_year")
    source = work / "lancashire.sqlite"
    generate(f"sqlite:///{source}", scale="lancashire", seed=42, as_of=AS_OF)
    manifest = extract.extract(f"sqlite:///{source}", AREA, work / "landing", b"k" * 32, run_id="test__1")
    warehouse = work / "build.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        load.load_batch(con, manifest)
        for feed in ("icb_nd_pathway", "manual_returns", "dfe_ehcp_statistics"):
            load.ensure_raw_tables(con, feed)  # the other feeds delivered nothing here

    # Unit tests are left to tests/integration/test_dbt_unit_tests.py, as in production builds.
    build = dbt_build(
        warehouse, work, *DBT_PRODUCTION_FLAGS, env={"SEND_AS_OF": AS_OF.isoformat(), "SEND_RUN_ID": "test__1"}
    )
    assert build.returncode == 0, build.stdout[-5000:]
    return source, warehouse


def _rejected_keys(warehouse: Path) -> dict[str, set[str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select source, record_key from ops.rejected_rows where action = 'rejected' and record_key is not null"
        ).fetchall()
    keys: dict[str, set[str]] = {}
    for source, key in rows:
        keys.setdefault(source.split(".", 1)[1], set()).add(key)
    return keys


def _source_table(source: Path, table: str, key: str, rejected: dict[str, set[str]]) -> pd.DataFrame:
    with sqlite3.connect(source) as con:
        frame = pd.read_sql_query(f"select * from {table}", con, dtype=str)
    frame = frame[~frame[key].str.strip().isin(rejected.get(table, set()))]
    return frame.copy()


def _code(series: pd.Series) -> pd.Series:
    return series.str.strip().str.upper()


def _date(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series.str.strip().str[:10], errors="coerce", format="%Y-%m-%d")


def independent_figures(source: Path, warehouse: Path) -> pd.DataFrame:
    """Numerator and denominator per KPI and calendar year, from the SQLite rows alone."""
    rejected = _rejected_keys(warehouse)
    requests = _source_table(source, "ssd_ehcp_requests", "ehcr_ehcp_request_id", rejected)
    assessments = _source_table(source, "ssd_ehcp_assessment", "ehca_ehcp_assessment_id", rejected)
    exceptions = _source_table(source, "send_assessment_exceptions", "asex_exception_id", rejected)

    requests = pd.DataFrame(
        {
            "request_id": requests["ehcr_ehcp_request_id"].str.strip(),
            "received": _date(requests["ehcr_ehcp_req_date"]),
            "decided": _date(requests["ehcr_ehcp_req_outcome_date"]),
            "outcome": _code(requests["ehcr_ehcp_req_outcome"]),
        }
    )
    decisions = requests[requests["outcome"].isin(["Y", "N"]) & requests["decided"].notna()].copy()
    decisions["year"] = decisions["decided"].dt.year
    decisions["on_time"] = (decisions["decided"] - decisions["received"]).dt.days <= 42

    flagged_by_table = set(exceptions["asex_ehcp_assessment_id"].str.strip())
    plans = pd.DataFrame(
        {
            "assessment_id": assessments["ehca_ehcp_assessment_id"].str.strip(),
            "request_id": assessments["ehca_ehcp_request_id"].str.strip(),
            "outcome": _code(assessments["ehca_ehcp_assessment_outcome"]),
            "issued": _date(assessments["ehca_ehcp_assessment_outcome_date"]),
            "flag": assessments["ehca_ehcp_assessment_exceptions"].fillna("").str.strip(),
        }
    )
    plans = plans[(plans["outcome"] == "Y") & plans["issued"].notna()].merge(requests, on="request_id")
    plans["year"] = plans["issued"].dt.year
    plans["on_time"] = (plans["issued"] - plans["received"]).dt.days <= 140
    plans["exception"] = (plans["flag"] == "1") | plans["assessment_id"].isin(flagged_by_table)

    rows = []
    for year in YEARS:
        issued = plans[plans["year"] == year]
        without = issued[~issued["exception"]]
        decided = decisions[decisions["year"] == year]
        rows += [
            ("EHCP_20WK_ALL", year, int(issued["on_time"].sum()), len(issued)),
            ("EHCP_20WK_EXCL", year, int(without["on_time"].sum()), len(without)),
            ("EHCP_DECISION_6WK", year, int(decided["on_time"].sum()), len(decided)),
        ]
    return pd.DataFrame(rows, columns=["kpi_code", "year", "numerator", "denominator"])


def mart_figures(warehouse: Path) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            """
            select kpi_code, year(period_start) as year, sum(numerator)::bigint as numerator,
                sum(denominator)::bigint as denominator, count(*) as months,
                count(*) filter (where provenance = 'feed') as feed_months
            from marts.kpi_values
            where area_code = ? and kpi_code in ('EHCP_20WK_ALL', 'EHCP_20WK_EXCL', 'EHCP_DECISION_6WK')
                and year(period_start) between ? and ?
            group by all
            """,
            [AREA, YEARS[0], YEARS[-1]],
        ).df()


def test_calendar_year_20_week_and_6_week_match_the_source(built_warehouse):
    source, warehouse = built_warehouse
    expected = independent_figures(source, warehouse)
    actual = mart_figures(warehouse)
    merged = expected.merge(actual, on=["kpi_code", "year"], how="left", suffixes=("_source", "_mart"))

    assert (merged["months"] == 12).all() and (merged["feed_months"] == 12).all(), merged
    for row in merged.itertuples():
        assert (row.numerator_mart, row.denominator_mart) == (row.numerator_source, row.denominator_source), row
        assert row.denominator_source > 0, row
    # Lancashire-scale shape (DfE 2024: 1,720 plans issued, 17.3% within 20 weeks): a sanity bound
    # that the comparison is over a real volume, not two empty sets.
    plans_2024 = merged.query("kpi_code == 'EHCP_20WK_ALL' and year == 2024").iloc[0]
    assert plans_2024.denominator_source > 1000
    # Exceptions really leave the EXCL measure (otherwise ALL and EXCL could not tell a bug apart).
    all_cases = merged[merged["kpi_code"] == "EHCP_20WK_ALL"]["denominator_source"].sum()
    excl_cases = merged[merged["kpi_code"] == "EHCP_20WK_EXCL"]["denominator_source"].sum()
    assert excl_cases < all_cases
