"""The LA's own figures in the shape of the DfE release tables (marts.dfe_return_*), at Lancashire scale.

The LA source is generated at the `lancashire` scale (SQLite, the scale's share of dirty rows),
extracted and loaded by ingestion beside the DfE release (when it ships beside the checkout), and the
whole dbt project is built once, as test_kpi_calendar_year.py does. Then, for the complete calendar
years 2023-2025:

- every column of the four reproduced tables is filled wherever the DfE publishes a number (a
  percentage only lacks one where its denominator is zero: the release's `x`);
- the percentages agree with their counts, and the counts add up the way the release's do;
- the totals equal the monthly KPIs of marts.kpi_values summed over the year where a KPI counts the
  same thing (requests received; plans issued, within 20 weeks, with and without exceptions; the
  20-52 and over-52-week bands where those KPIs exist), and the 6-week decisions reconcile with
  EHCP_DECISION_6WK once the requests received in one year and decided in the next are moved across
  (the KPI counts a decision in its own month, the DfE in the year the request was received);
- the comparison mart sets them beside the figures the DfE published for Lancashire.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingestion import load, registry
from ingestion.dfe_ehcp_statistics import release
from ingestion.la_case_management import extract
from orchestration.settings import DBT_PRODUCTION_FLAGS
from synthetic.la_case_management import generate
from tests.conftest import FIGURES
from tests.dbt_cli import dbt_build

AREA = "E10000017"
AS_OF = dt.date(2026, 10, 31)
YEARS = (2023, 2024, 2025)
RELEASE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "dfe_ehcp_2025"
TABLES = ("requests", "assessments", "timeliness_20_week", "annual_reviews")
LEADING = [
    "time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
    "region_name", "new_la_code", "old_la_code", "la_name", "breakdown_topic", "breakdown",
]  # fmt: skip
# Every percentage: (numerator, denominator) as columns or sums of columns of the same row.
PERCENTAGES = {
    "requests": {
        "request_assess_pc": ("requests_decided_to_assess", "requests_received_in_year"),
        "request_not_assess_pc": ("requests_decided_not_to_assess", "requests_received_in_year"),
        "request_outstanding_pc": ("requests_decision_not_made", "requests_received_in_year"),
        "request_withdrawn_pc": ("requests_withdrawn", "requests_received_in_year"),
        "request_outcome_six_weeks_pc": (
            "request_outcome_six_weeks",
            "request_outcome_six_weeks + request_outcome_over_6_weeks",
        ),
        "request_outcome_over_6_weeks_pc": (
            "request_outcome_over_6_weeks",
            "request_outcome_six_weeks + request_outcome_over_6_weeks",
        ),
    },
    "assessments": {
        "assess_issued_pc": ("assess_issued", "assess_in_year"),
        "assess_not_issued_pc": ("assess_not_issued", "assess_in_year"),
        "assess_not_made_pc": ("assess_not_made", "assess_in_year"),
        "assess_withdrawn_pc": ("assess_withdrawn", "assess_in_year"),
        "outcome_decision_within_time_pc": (
            "outcome_decision_within_time",
            "outcome_decision_within_time + outcome_decision_over_time",
        ),
        "outcome_decision_over_time_pc": (
            "outcome_decision_over_time",
            "outcome_decision_within_time + outcome_decision_over_time",
        ),
    },
    "timeliness_20_week": {
        "pc_plans_issued_within_20_weeks": ("plans_issued_within_20_weeks", "plans_issued_den"),
        "PC_plans_issued_20_weeks_ex": ("plans_issued_20_weeks_ex", "plans_issued_den_ex"),
        "pc_plans_issued_gt20weeks_ltYear": ("plans_issued_gt20weeks_ltYear", "plans_issued_den"),
        "PC_plans_issued_gt20weeks_ltYear_ex": ("plans_issued_gt20weeks_ltYear_ex", "plans_issued_den_ex"),
        "pc_plans_issued_gt_1_year": ("plans_issued_gt_1_year", "plans_issued_den"),
        "PC_plans_issued_gt_1_year_ex": ("plans_issued_gt_1_year_ex", "plans_issued_den_ex"),
    },
    "annual_reviews": {
        "pc_decsion_4weeks": ("number_decsion_4weeks", "number_decsion_4weeks + number_decision_gt_4weeks"),
        "pc_decision_gt_4weeks": ("number_decision_gt_4weeks", "number_decsion_4weeks + number_decision_gt_4weeks"),
    },
}
# Counts that partition another count of the same row, as the release's do.
PARTS = {
    "requests": [
        ("requests_received_in_year", "requests_decided_to_assess + requests_decided_not_to_assess"
         " + requests_decision_not_made + requests_withdrawn"),
    ],
    "assessments": [
        ("assess_in_year", "assess_issued + assess_not_issued + assess_not_made + assess_withdrawn"),
        ("assess_not_issued", "outcome_decision_within_time + outcome_decision_over_time"),
    ],
    "timeliness_20_week": [
        ("plans_issued_den", "plans_issued_within_20_weeks + plans_issued_gt20weeks_ltYear + plans_issued_gt_1_year"),
        ("plans_issued_den_ex",
         "plans_issued_20_weeks_ex + plans_issued_gt20weeks_ltYear_ex + plans_issued_gt_1_year_ex"),
    ],
    "annual_reviews": [
        ("total_ehc_plans", "review_expected + review_not_expected"),
        ("review_expected", "total_review_meeting + no_review_meeting"),
        ("total_review_meeting", "review_meeting_25 + review_meeting_24 + review_meeting_prior_24"),
        ("total_review_meeting", "review_decision25 + review_decision24 + review_decision_prior24"
         " + review_decision_not_due + review_decision_outstanding"),
        ("total_review_meeting", "outcome_amend + outcome_cease + outcome_maintan + no_outcome"),
        ("review_decision25 + review_decision24 + review_decision_prior24",
         "number_decsion_4weeks + number_decision_gt_4weeks"),
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("dfe_return")
    source = work / "lancashire.sqlite"
    generate(f"sqlite:///{source}", scale="lancashire", seed=42, as_of=AS_OF)
    manifest = extract.extract(f"sqlite:///{source}", AREA, work / "landing", b"k" * 32, run_id="test__1")
    built = work / "build.duckdb"
    with duckdb.connect(str(built)) as con:
        load.load_batch(con, manifest)
        if RELEASE.exists():
            load.load_batch(con, release.intake(RELEASE, work / "landing_dfe", b"k" * 32, "release-2025", set()))
        for feed in registry.names():
            load.ensure_raw_tables(con, feed)  # what delivered nothing here
    # Unit tests are left to tests/integration/test_dbt_unit_tests.py, as in production builds.
    build = dbt_build(
        built, work, *DBT_PRODUCTION_FLAGS, env={"SEND_AS_OF": AS_OF.isoformat(), "SEND_RUN_ID": "test__1"}
    )
    assert build.returncode == 0, build.stdout[-5000:]
    return built


def _query(warehouse: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).df()


def _table(warehouse: Path, table: str) -> pd.DataFrame:
    frame = _query(
        warehouse, f"select * from marts.dfe_return_{table} where area_code = ? order by time_period", [AREA]
    )
    return frame.set_index(frame["time_period"].astype(int), drop=False)


def _measures(warehouse: Path, table: str) -> list[str]:
    """The release file's measure columns in its order: from its header where the release ships beside
    the checkout (its repeated `review_meeting_prior_24` once), else as the comparison mart lists them."""
    if RELEASE.exists():
        with (RELEASE / f"{table}.csv").open(encoding="utf-8-sig") as file:
            header = file.readline().strip().split(",")
        return list(dict.fromkeys(header))[len(LEADING) :]
    frame = _query(
        warehouse,
        "select column_name from marts.dfe_return_comparison where area_code = ? and dfe_table = ? "
        "and time_period = ? order by column_position",
        [AREA, table, str(YEARS[0])],
    )
    return frame["column_name"].tolist()


@pytest.mark.parametrize("table", TABLES)
def test_every_column_is_filled_for_the_complete_years(warehouse, table):
    frame = _table(warehouse, table)
    measures = _measures(warehouse, table)
    assert set(YEARS) <= set(frame.index), frame.index
    # The release's columns in the release's order, then the platform's.
    assert list(frame.columns[: len(LEADING) + len(measures)]) == LEADING + measures
    # Without the release the LA's DfE code, name and region are not known; everything else is.
    unknown = set() if RELEASE.exists() else {"region_code", "region_name", "old_la_code", "la_name"}
    for year in YEARS:
        row = frame.loc[year]
        assert row["time_identifier"] == "Calendar year" and row["is_complete_year"], row
        assert row["geographic_level"] == "Local authority" and row["new_la_code"] == AREA
        if RELEASE.exists():  # codes and name from the release's own rows for Lancashire
            assert (row["old_la_code"], row["la_name"], row["region_name"]) == ("888", "Lancashire", "North West")
        empty = [c for c in LEADING + measures if pd.isna(row[c]) and c not in unknown]
        assert not empty, (year, empty)
    # The year the data stops in is the year to date, marked as such.
    last = frame.loc[frame.index.max()]
    assert last["time_identifier"] == "Calendar year to date" and not last["is_complete_year"]
    assert last["period_end"] < pd.Timestamp(AS_OF)


@pytest.mark.parametrize("table", TABLES)
def test_percentages_agree_with_their_counts_and_counts_add_up(warehouse, table):
    frame = _table(warehouse, table).loc[list(YEARS)]
    for pc, (numerator, denominator) in PERCENTAGES[table].items():
        num, den = frame.eval(numerator), frame.eval(denominator)
        assert (den > 0).all(), (pc, den)
        expected = (100 * num / den).round(1)
        assert ((frame[pc] - expected).abs() <= 0.05 + 1e-9).all(), pd.DataFrame({pc: frame[pc], "counts": expected})
    for whole, parts in PARTS[table]:
        assert (frame.eval(whole) == frame.eval(parts)).all(), (whole, parts, frame.eval(whole), frame.eval(parts))


def _kpi_sums(warehouse: Path) -> pd.DataFrame:
    frame = _query(
        warehouse,
        """
        select kpi_code, year(period_start) as year, sum(numerator)::bigint as numerator,
            sum(denominator)::bigint as denominator, count(*) as months,
            count(*) filter (where provenance = 'feed') as feed_months
        from marts.kpi_values
        where area_code = ? and period_type = 'month' and year(period_start) between ? and ?
        group by all
        """,
        [AREA, YEARS[0], YEARS[-1]],
    )
    return frame.set_index(["kpi_code", "year"])


def test_totals_equal_the_monthly_kpis_summed_over_the_year(warehouse):
    kpis = _kpi_sums(warehouse)
    requests = _table(warehouse, "requests")
    timeliness = _table(warehouse, "timeliness_20_week")
    same_thing = [  # KPI, its numerator or denominator, the reproduced table's column
        ("EHCP_REQUESTS", "numerator", requests, "requests_received_in_year"),
        ("EHCP_20WK_ALL", "numerator", timeliness, "plans_issued_within_20_weeks"),
        ("EHCP_20WK_ALL", "denominator", timeliness, "plans_issued_den"),
        ("EHCP_20WK_EXCL", "numerator", timeliness, "plans_issued_20_weeks_ex"),
        ("EHCP_20WK_EXCL", "denominator", timeliness, "plans_issued_den_ex"),
    ]
    # Added beside this mart by another change: compared when the KPIs exist in this build.
    present = set(kpis.index.get_level_values("kpi_code"))
    if "EHCP_ISSUED_20_52WK" in present:
        same_thing.append(("EHCP_ISSUED_20_52WK", "numerator", timeliness, "plans_issued_gt20weeks_ltYear"))
        same_thing.append(("EHCP_ISSUED_20_52WK", "denominator", timeliness, "plans_issued_den"))
    if "EHCP_ISSUED_OVER_52WK" in present:
        same_thing.append(("EHCP_ISSUED_OVER_52WK", "numerator", timeliness, "plans_issued_gt_1_year"))
    compared = []
    for kpi, part, table, column in same_thing:
        for year in YEARS:
            row = kpis.loc[(kpi, year)]
            assert (row["months"], row["feed_months"]) == (12, 12), (kpi, year, row)
            assert row[part] == table.loc[year, column], (kpi, part, year, row[part], table.loc[year, column])
            compared.append(kpi)
    assert timeliness.loc[2024, "plans_issued_den"] > 1000  # a real volume (DfE Lancashire 2024: 1,720)
    FIGURES.append(f"dfe_return vs kpi_values, {YEARS[0]}-{YEARS[-1]}: equal for {', '.join(dict.fromkeys(compared))}")


def test_decisions_within_6_weeks_reconcile_with_the_kpi_across_the_year_end(warehouse):
    """EHCP_DECISION_6WK counts a decision in its month; the DfE table counts it in the year the request
    was received, if made by the census. The difference is exactly the requests moved across a year end."""
    kpis = _kpi_sums(warehouse)
    requests = _table(warehouse, "requests")
    facts = _query(
        warehouse,
        "select received_date, decision_date, days_to_decision from marts.fct_ehcp_requests "
        "where area_code = ? and is_new_request and decision_date is not null and days_to_decision is not null",
        [AREA],
    )
    received, decided = facts["received_date"].dt.year, facts["decision_date"].dt.year
    moved_any = False
    for year in YEARS:
        census = requests.loc[year, "census_date"]
        ours = {
            "numerator": requests.loc[year, "request_outcome_six_weeks"],
            "denominator": requests.loc[year, "request_outcome_six_weeks"]
            + requests.loc[year, "request_outcome_over_6_weeks"],
        }
        on_time = facts["days_to_decision"] <= 42
        for part, counted in [("numerator", on_time), ("denominator", facts["days_to_decision"].notna())]:
            # Decided this year, received in another (before it; after it where a record's dates are out
            # of order): in the KPI's year, in another year of ours or none.
            came_in = int((counted & (received != year) & (decided == year)).sum())
            # Received this year, decided in another by the census (the next January): in ours, in
            # another year of the KPI.
            went_out = int(
                (counted & (received == year) & (decided != year) & (facts["decision_date"] <= census)).sum()
            )
            moved_any |= came_in > 0 and went_out > 0
            assert kpis.loc[("EHCP_DECISION_6WK", year), part] == ours[part] + came_in - went_out, (year, part)
    assert moved_any  # December requests decided in January really occur


@pytest.mark.skipif(not RELEASE.exists(), reason=f"DfE release not at {RELEASE}")
def test_comparison_sets_ours_beside_the_published_lancashire_figures(warehouse):
    comparison = _query(warehouse, "select * from marts.dfe_return_comparison where area_code = ?", [AREA])
    for table in TABLES:
        ours = _table(warehouse, table)
        published = pd.read_csv(RELEASE / f"{table}.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
        published = published.loc[:, ~published.columns.duplicated()]
        published = published[(published["new_la_code"] == AREA) & published["breakdown_topic"].str.startswith("All")]
        published = published.set_index(published["time_period"].astype(int))
        rows = comparison[comparison["dfe_table"] == table]
        measures = _measures(warehouse, table)
        assert len(rows) == len(measures) * len(ours), table  # every measure of every year of ours
        for row in rows.itertuples():
            year = int(row.time_period)
            assert row.our_value == pytest.approx(ours.loc[year, row.column_name], nan_ok=True)
            assert row.dfe_published == (year in published.index), (table, year)
            text = published.loc[year, row.column_name] if year in published.index else "x"
            value = pd.to_numeric(text, errors="coerce")
            if value < 0:  # published negative counts are blanked at loading (a data-quality flag)
                value = float("nan")
            assert row.dfe_value == pytest.approx(value, nan_ok=True), (table, year, row.column_name)
            if pd.notna(row.dfe_value):
                assert row.difference == pytest.approx(row.our_value - row.dfe_value)
    main = [
        ("requests", "requests_received_in_year"), ("requests", "request_outcome_six_weeks_pc"),
        ("assessments", "assess_in_year"), ("timeliness_20_week", "plans_issued_den"),
        ("timeliness_20_week", "pc_plans_issued_within_20_weeks"), ("annual_reviews", "total_ehc_plans"),
        ("annual_reviews", "pc_decsion_4weeks"),
    ]  # fmt: skip
    for table, column in main:
        for year in YEARS:
            row = comparison[(comparison["dfe_table"] == table) & (comparison["column_name"] == column)
                             & (comparison["time_period"] == str(year))].iloc[0]  # fmt: skip
            dfe = "-" if pd.isna(row.dfe_value) else f"{row.dfe_value:g}"
            FIGURES.append(f"Lancashire {year} {table}.{column}: ours {row.our_value:g}, DfE {dfe}")
