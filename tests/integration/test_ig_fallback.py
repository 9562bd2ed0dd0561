"""The IG walk-through on the real DAG: five monthly `airflow dags test` runs on one warehouse while the
ICB feed is live, suspended in the register, refused at run time, stale, and back (the same scenarios
`make demo` prints). Provenance per KPI, owner notices, retries and the reconciliation mart are read
from the published warehouse, the alert log and Airflow's metadata database."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path

import duckdb
import pytest

from devtools.environment import local_environment, prepare
from devtools.walkthrough import run_scenarios
from orchestration.settings import Settings
from synthetic.generator import generate_all

pytestmark = pytest.mark.slow
FINAL = dt.date(2026, 11, 23)
ICB_FEEDS = {"icb_nd_referrals", "icb_nd_waiting_list"}


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    work = tmp_path_factory.mktemp("ig_walk")
    env = {
        **os.environ,
        **local_environment(work),
        # Retries on, and quick: an IG blocker must not spend any, a transient error would.
        "SEND_TASK_RETRIES": "2",
        "SEND_RETRY_DELAY_SECONDS": "1",
        "SEND_DFE_RELEASE_DIR": str(work / "no_dfe_release"),  # not what this test is about
    }
    settings = Settings.from_env(env)
    settings.inbox("dfe_ehcp_statistics").mkdir(parents=True)
    source = json.loads(env["AIRFLOW_CONN_LA_CASE_MANAGEMENT"])["extra"]["sqlalchemy_url"]
    Path(source.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    drop = work / "drop"
    generate_all("demo", seed=42, as_of=FINAL, target=source, out=drop, dirty_rate=0.0, size=0.5,
                 progress=False, icb_months=8, jobs=1)  # fmt: skip
    prepare(env, work / "prepare.log")
    printed: list[str] = []
    outcomes = run_scenarios(env, drop, FINAL, work / "runs.log", echo=printed.append)
    return {o.scenario.name: o for o in outcomes}, outcomes, settings, env, printed


def _nd(provenance: dict[str, str]) -> set[str]:
    return {provenance[kpi] for kpi in provenance if kpi.startswith("ND_")}


def _notices(outcome) -> dict[str, int]:
    """Owner notices of the run per source system."""
    counts: dict[str, int] = {}
    for notice in outcome.notices:
        counts[notice["source"]] = counts.get(notice["source"], 0) + 1
    return counts


def test_every_feed_live_computes_the_nd_kpis_from_the_feed(walk):
    _, outcomes, _, _, _ = walk
    live = outcomes[0]
    assert _nd(live.provenance) == {"feed"}
    assert live.provenance["EHCP_20WK_ALL"] == "feed" and live.notices == []


@pytest.mark.parametrize(
    ("step", "reason"),
    [(1, "suspended in the IG register"), (2, "access refused at run time"), (3, "newest data is from")],
)
def test_a_blocked_icb_feed_falls_back_to_the_manual_scorecard_with_one_owner_notice(walk, step, reason):
    _, outcomes, _, _, _ = walk
    outcome = outcomes[step]
    assert _nd(outcome.provenance) == {"manual"}, outcome.scenario.name
    assert outcome.provenance["EHCP_20WK_ALL"] == "feed"  # the LA feed is untouched
    assert _notices(outcome) == {"icb_nd_pathway": 1}  # one for the source in the run, not one per agreement
    [notice] = outcome.notices
    assert set(notice["feeds"]) == ICB_FEEDS and all(reason in r for r in notice["reasons"].values())
    assert notice["data_owner"].startswith("ICB") and notice["runbook"].endswith("ig_blocker.md")
    falling_back = {kpi for kpi in outcome.provenance if kpi.startswith("ND_")}
    assert falling_back <= set(notice["kpis_falling_back"])  # the union over both agreements


def test_no_retry_is_spent_on_an_ig_blocker(walk):
    _, _, _, env, _ = walk
    db = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "select task_id, state, try_number from task_instance where task_id like 'extract_icb%' order by start_date"
        ).fetchall()
    assert len(rows) == 5
    assert all(state == "success" and tries == 1 for _, state, tries in rows), rows


def test_the_returning_feed_supersedes_manual_months_and_reconciliation_shows_both(walk):
    _, outcomes, settings, _, _ = walk
    back = outcomes[-1]
    assert _nd(back.provenance) == {"feed"}
    manual_months = sorted({o.period for o in outcomes[1:4]})
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        values = con.execute(
            "select kpi_code, period_start, provenance, value from marts.kpi_values "
            "where kpi_code like 'ND_%' and period_start in ?",
            [manual_months],
        ).fetchall()
        reconciliation = {
            (kpi, period): (feed, manual, difference)
            for kpi, period, feed, manual, difference in con.execute(
                "select kpi_code, period_start, feed_value, manual_value, value_difference "
                "from marts.kpi_reconciliation where kpi_code like 'ND_%'"
            ).fetchall()
        }
    with duckdb.connect(str(settings.build_path), read_only=True) as con:
        # What was submitted, straight from raw (newest version of each area's month).
        submitted = dict(
            ((kpi, dt.datetime.strptime(period, "%Y-%m").date()), value)
            for kpi, period, value in con.execute(
                "select kpi_code, period, value from raw_manual_returns.kpi_scorecard "
                "qualify _file_version = max(_file_version) over (partition by period)"
            ).fetchall()
        )
    assert {p for _, _, p, _ in values} == {"feed"}
    for kpi, period, _, value in values:
        feed, manual, difference = reconciliation[(kpi, period)]
        assert feed == pytest.approx(value) and manual == pytest.approx(submitted[(kpi, period)])
        if feed is not None and manual is not None:
            assert difference == pytest.approx(feed - manual)


def test_the_demo_walk_prints_which_kpis_changed_provenance(walk):
    _, _, _, _, printed = walk
    assert "feed -> manual: ND_ADHD_FIRST_CONTACT_13WK" in printed[1]
    assert "manual -> feed: ND_ADHD_FIRST_CONTACT_13WK" in printed[-1]
    assert "owner notice to ICB" in printed[2]


def test_every_catalogue_kpi_has_a_row_for_every_month_value_or_explicit_missing(walk):
    _, _, settings, _, _ = walk
    catalogue = (Path(__file__).parents[2] / "dbt_project" / "seeds" / "kpi_definitions.csv").read_text()
    codes = {line.split(",")[0] for line in catalogue.splitlines()[1:]}
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        rows, kpis, months, areas = con.execute(
            "select count(*), count(distinct kpi_code), count(distinct period_start), count(distinct area_code) "
            "from marts.kpi_values where area_type = 'la'"
        ).fetchone()
        # Lancashire's three localities: every KPI the LA feed computes, every month.
        local_rows, local_kpis, local_months, localities = con.execute(
            "select count(*), count(distinct kpi_code), count(distinct period_start), count(distinct area_code) "
            "from marts.kpi_values where area_type = 'locality'"
        ).fetchone()
        la_feed_kpis = con.execute(
            "select count(*) from marts.kpi_catalogue where computing_feed = 'la_case_management'"
        ).fetchone()[0]
        published = {code for (code,) in con.execute("select distinct kpi_code from marts.kpi_values").fetchall()}
        missing_with_value = con.execute(
            "select count(*) from marts.kpi_values where provenance = 'missing' and value is not null"
        ).fetchone()[0]
    assert published == codes and rows == kpis * months * areas
    assert (local_kpis, local_months, localities) == (la_feed_kpis, months, 3)
    assert local_rows == local_kpis * local_months * localities
    assert months >= 60 and missing_with_value == 0  # every month since January 2021; missing is never a zero


def test_kpis_automated_is_the_coverage_figure_for_every_area_and_month(walk):
    """One definition, one computation: the governance KPI and kpi_coverage agree everywhere."""
    _, _, settings, _, _ = walk
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        coverage = {
            (area, period): (automated, catalogue, pct)
            for area, period, automated, catalogue, pct in con.execute(
                "select area_code, period_start, kpis_from_feed + kpis_from_aggregate_feed, kpis_in_catalogue, "
                "pct_automated from marts.kpi_coverage"
            ).fetchall()
        }
        kpi = {
            (area, period): (numerator, denominator, value)
            for area, period, numerator, denominator, value in con.execute(
                "select area_code, period_start, numerator, denominator, value from marts.kpi_values "
                "where kpi_code = 'GOV_KPIS_AUTOMATED'"
            ).fetchall()
        }
        la_months = set(
            con.execute(
                "select distinct area_code, period_start from marts.kpi_values where area_type = 'la'"
            ).fetchall()
        )
    assert len(coverage) >= 60 and set(coverage) == set(kpi) == la_months
    assert coverage == kpi
    assert len({pct for _, _, pct in coverage.values()}) > 1  # the walk moves it: ND feed live, blocked, back


def test_checks_passing_is_keyed_by_the_month_of_each_run(walk):
    """GOV_DQ_CHECKS_PASSING for a month is the share of checks passed in the last run made in it (its
    as-of date): every month an earlier run of the walk was made in has its value, worked out here from
    the recorded results; the final run's own checks count from the next run on."""
    _, outcomes, settings, _, _ = walk
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        published = {
            period: (numerator, denominator, provenance)
            for period, numerator, denominator, provenance in con.execute(
                "select period_start, numerator, denominator, provenance from marts.kpi_values "
                "where kpi_code = 'GOV_DQ_CHECKS_PASSING'"
            ).fetchall()
        }
        expected = {}
        for outcome in outcomes[:-1]:
            run_id = con.execute(
                "select run_id from ops.pipeline_runs where logical_date = ? order by recorded_at desc limit 1",
                [outcome.logical_date],
            ).fetchone()[0]
            passed, checks = con.execute(
                "select count(*) filter (where outcome = 'passed'), count(*) from ops.data_quality_results "
                "where run_id = ?",
                [run_id],
            ).fetchone()
            expected[outcome.logical_date.replace(day=1)] = (passed, checks, "feed")
    assert len(expected) == 4 and all(checks > 50 for _, checks, _ in expected.values())
    assert {period: published[period] for period in expected} == expected
    others = {provenance for period, (_, _, provenance) in published.items() if period not in expected}
    assert others == {"missing"}
