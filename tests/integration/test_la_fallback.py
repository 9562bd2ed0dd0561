"""The LA case-management feed blocked on the real DAG: two monthly `airflow dags test` runs on one
warehouse, the second with the LA feed suspended in the IG register. The month the blocked run adds
must fall back (manual scorecard or missing), never be computed from what was loaded a month earlier
as if it were complete; the months the last read covered keep their feed values."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import duckdb
import pytest

from devtools.environment import local_environment, prepare
from devtools.walkthrough import Scenario, run_scenarios
from orchestration.settings import Settings
from synthetic.generator import generate_all

pytestmark = pytest.mark.slow
FINAL = dt.date(2026, 11, 23)
SUSPENDED = {"la_case_management": {"status": "suspended"}}
SCENARIOS = (
    Scenario("every feed live", 1),
    Scenario("LA case-management suspended in the IG register", 0, register=SUSPENDED),
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("la_blocked")
    env = {**os.environ, **local_environment(work), "SEND_DFE_RELEASE_DIR": str(work / "no_dfe_release")}
    settings = Settings.from_env(env)
    settings.inbox("dfe_ehcp_statistics").mkdir(parents=True)
    source = json.loads(env["AIRFLOW_CONN_LA_CASE_MANAGEMENT"])["extra"]["sqlalchemy_url"]
    Path(source.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    generate_all("demo", seed=42, as_of=FINAL, target=source, out=work / "drop", dirty_rate=0.0, size=0.3,
                 progress=False, icb_months=4, jobs=1)  # fmt: skip
    prepare(env, work / "prepare.log")
    outcomes = run_scenarios(env, work / "drop", FINAL, work / "runs.log", echo=lambda line: None, scenarios=SCENARIOS)
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        published = con.execute(
            "select kpi_code, period_start, provenance from marts.kpi_values "
            "where kpi_code in (select kpi_code from marts.kpi_catalogue where computing_feed = 'la_case_management')"
        ).fetchall()
    return outcomes, published


def test_the_month_a_blocked_la_run_adds_falls_back_and_the_months_before_keep_the_feed(runs):
    (live, blocked), published = runs
    la_kpis = {kpi for kpi, _, _ in published}
    assert blocked.period > live.period  # the blocked run publishes one more month
    assert {live.provenance[kpi] for kpi in la_kpis} == {"feed"}
    added = {blocked.provenance[kpi] for kpi in la_kpis}
    assert "feed" not in added and added <= {"manual", "missing"}, added
    before = {p for kpi, period, p in published if period == live.period}
    assert before == {"feed"}  # what the last read covered still stands
    assert {p for kpi, p in blocked.provenance.items() if kpi.startswith("ND_")} == {"feed"}  # the ICB untouched


def test_the_la_data_owner_is_told_once_naming_the_kpis_that_fall_back(runs):
    (_, blocked), published = runs
    [notice] = [n for n in blocked.notices if n["source"] == "la_case_management"]
    assert notice["feeds"] == ["la_case_management"] and "suspended" in notice["reason"]
    assert {kpi for kpi, _, _ in published} <= set(notice["kpis_falling_back"])
