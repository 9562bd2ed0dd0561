"""The LA case-management feed of the ICB footprint's four LAs (the `region` scale) on the real DAG: the
extract mapped over one connection per LA, three monthly `airflow dags test` runs on one warehouse, the
second with one LA (Blackpool) suspended under its own agreement in the IG register. That LA's month
must fall back (manual scorecard or missing), never be computed from what was loaded a month earlier as
if it were complete, while the three other LAs are read and computed as before; the months the last
read covered keep their feed values; Blackpool's own data owner is told, once. In the third run
Blackburn's database does not answer: its extract fails (retried, then on-call alerted), the others
load and publish, and Blackburn's month falls back like a blocked LA's."""

from __future__ import annotations

import datetime as dt
import json
import os

import duckdb
import pytest

from devtools.environment import la_connections, local_environment, prepare
from devtools.walkthrough import Scenario, run_scenarios
from orchestration.settings import Settings
from synthetic.generator import generate_all
from synthetic.scales import SCALES

pytestmark = pytest.mark.slow
FINAL = dt.date(2026, 11, 23)
AREAS = SCALES["region"].areas()
BLOCKED = "E06000009"  # Blackpool
DOWN = "E06000008"  # Blackburn with Darwen
NOWHERE = "postgresql+psycopg2://send@127.0.0.1:1/la_case_management"  # nothing listens on port 1
BLACKPOOL_TERMS = {
    "status": "suspended",
    "agreement_reference": "BPL-DSA-7",
    "data_owner": "Blackpool SEND business intelligence",
    "contact": "send.bi@blackpool.example",
}
BLACKPOOL = {BLOCKED: BLACKPOOL_TERMS}  # its own terms, laid over the feed's
SCENARIOS = (
    Scenario("every LA live", 2),
    Scenario("Blackpool suspended in the IG register", 1, register={"la_case_management": {"areas": BLACKPOOL}}),
    Scenario(
        "Blackburn's database down, Blackpool still suspended",
        0,
        register={"la_case_management": {"areas": BLACKPOOL}},
        env={k: v for k, v in la_connections({DOWN: NOWHERE}).items() if k.startswith("AIRFLOW_CONN_")},
    ),
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("la_blocked")
    source = f"sqlite:///{work / 'source' / 'la_{area_code}.sqlite'}"
    env = {
        **os.environ,
        **local_environment(work),
        **la_connections({area: source.replace("{area_code}", area) for area in AREAS}),
        "SEND_DFE_RELEASE_DIR": str(work / "no_dfe_release"),
        "SEND_TASK_RETRIES": "1",  # a database that does not answer is retried, as in production
        "SEND_RETRY_DELAY_SECONDS": "1",
    }
    settings = Settings.from_env(env)
    settings.inbox("dfe_ehcp_statistics").mkdir(parents=True)
    (work / "source").mkdir()
    generate_all("region", seed=42, as_of=FINAL, target=source, out=work / "drop", dirty_rate=0.0, size=0.05,
                 progress=False, icb_months=3, jobs=2)  # fmt: skip
    prepare(env, work / "prepare.log")
    outcomes = run_scenarios(env, work / "drop", FINAL, work / "runs.log", echo=lambda line: None, scenarios=SCENARIOS)
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        published = con.execute(
            "select area_code, kpi_code, period_start, provenance from marts.kpi_values where area_type = 'la' "
            "and kpi_code in (select kpi_code from marts.kpi_catalogue where computing_feed = 'la_case_management')"
        ).fetchall()
        decided = con.execute(
            "select run_id, area_code, status, reason, data_owner, owner_notified from ops.feed_status "
            "where feed = 'la_case_management' order by run_id, area_code"
        ).fetchall()
        newest = dict(
            con.execute(
                "select run_id, newest_data from ops.feed_status where feed = 'la_case_management' and area_code = ?",
                [DOWN],
            ).fetchall()
        )
    with duckdb.connect(str(settings.build_path), read_only=True) as con:
        watermarks = con.execute(
            "select area_code, count(*) from ops.extract_watermarks group by all order by 1"
        ).fetchall()
    alerts = [json.loads(line) for line in settings.alerts_path.read_text().splitlines()]
    return outcomes, published, decided, watermarks, alerts, newest


def _provenance(published, area: str, period: dt.date) -> set[str]:
    return {p for a, _, month, p in published if a == area and month == period}


def test_every_la_of_the_footprint_is_extracted_through_its_own_connection(runs):
    (live, blocked, _), published, decided, watermarks, *_ = runs
    assert {area for area, _, _, _ in published} == set(AREAS)
    assert [area for area, _ in watermarks] == sorted(AREAS)  # each LA's watermarks its own
    first_run = [row for row in decided if row[0] == live.run_id]
    assert [(area, status) for _, area, status, *_ in first_run] == [(area, "live") for area in sorted(AREAS)]
    for area in AREAS:
        assert _provenance(published, area, live.period) == {"feed"}, area


def test_one_blocked_la_falls_back_and_leaves_the_others_untouched(runs):
    (live, blocked, _), published, decided, *_ = runs
    assert blocked.period > live.period  # the blocked run publishes one more month
    added = _provenance(published, BLOCKED, blocked.period)
    assert "feed" not in added and added <= {"manual", "missing"}, added
    assert _provenance(published, BLOCKED, live.period) == {"feed"}  # what the last read covered still stands
    for area in set(AREAS) - {BLOCKED}:
        assert _provenance(published, area, blocked.period) == {"feed"}, area
    second_run = {area: row for run, area, *row, _ in decided if run == blocked.run_id}
    assert {area: status for area, (status, _, _) in second_run.items()} == {
        area: "blocked" if area == BLOCKED else "live" for area in AREAS
    }
    status, reason, owner = second_run[BLOCKED]
    assert reason == f"la_case_management for {BLOCKED} is suspended in the IG register (BPL-DSA-7)"
    assert owner == BLACKPOOL_TERMS["data_owner"]


def test_the_blocked_la_s_own_data_owner_is_told_once(runs):
    (_, blocked, _), published, *_ = runs
    [notice] = [n for n in blocked.notices if n["source"] == "la_case_management"]
    assert notice["area_code"] == BLOCKED and notice["feeds"] == ["la_case_management"]
    assert (notice["data_owner"], notice["contact"]) == (BLACKPOOL_TERMS["data_owner"], BLACKPOOL_TERMS["contact"])
    assert {kpi for _, kpi, _, _ in published} <= set(notice["kpis_falling_back"])


def test_one_la_database_down_holds_back_no_other_la(runs):
    (_, blocked, down), published, decided, _, alerts, newest = runs
    assert down.period > blocked.period  # the run published, with the three LAs that answered
    for area in set(AREAS) - {DOWN, BLOCKED}:
        assert _provenance(published, area, down.period) == {"feed"}, area
    added = _provenance(published, DOWN, down.period)  # never computed from last month's load as if complete
    assert "feed" not in added and added <= {"manual", "missing"}, added
    assert _provenance(published, DOWN, blocked.period) == {"feed"}  # what its last read covered stands
    third_run = {area: (status, reason, told) for run, area, status, reason, _, told in decided if run == down.run_id}
    assert {area: status for area, (status, _, _) in third_run.items()} == {
        area: "blocked" if area in (DOWN, BLOCKED) else "live" for area in AREAS
    }
    assert third_run[DOWN] == (
        "blocked",
        f"la_case_management for {DOWN}: not read in this run, its extract failed (see the run's alert)",
        False,  # on-call acts (the alert), not the LA's data owner
    )
    assert newest[down.run_id] is not None
    assert newest[down.run_id] == newest[blocked.run_id]  # the data it holds: as the last read left it
    # One alert, to on-call, for the failed extract; the run's success announces no recovery of it.
    of_run = [(e["event"], e.get("failure_class"), e.get("task_id")) for e in alerts if e["run_id"] == down.run_id]
    assert ("alert", "transient", "extract_la_case_management") in of_run
    assert not [e for e in of_run if e[0] == "recovery"], of_run
    assert DOWN not in {n["area_code"] for n in down.notices}  # no owner notice: nothing for the LA to act on
