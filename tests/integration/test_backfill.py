"""A catch-up over 24 months gives the same marts as one fresh run; a later rerun of a past date
never takes the published marts back in time.

The synthetic LA source is one simulated history seen on any as-of date, so before each catch-up run
the source is regenerated as it stood on that run's date: rows appear, decisions and plan issue dates
are filled in later, dirty rows stay as they were. Each run extracts incrementally from the previous
run's watermark into one build warehouse, so the raw layer stacks one batch per run and staging must
pick the newest version of every row. The fresh warehouse is built by a single run on the final
source. Runs are twelve months apart by default (3 runs spanning 24 months) rather than a month apart,
to keep the test within a few minutes: every kind of change a monthly cadence sees (new rows, rows
updated or deleted after an earlier extract, rejected rows) happens between these runs too, only in
fewer batches. SEND_BACKFILL_STEP_MONTHS=6, 3 or 1 runs the half-yearly (5 runs), quarterly (9) or
monthly (25) catch-up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from devtools.environment import prepare
from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT
from tests.dbt_cli import dbt_build

pytestmark = pytest.mark.slow
FIRST = dt.date(2023, 7, 1)
MONTHS = 24
STEP_MONTHS = int(os.environ.get("SEND_BACKFILL_STEP_MONTHS", "12"))
SOURCE_SIZE = 0.5  # of the demo scale: ~300 EHC needs assessment requests a year
# Differ between any two runs by design (the data dictionary's examples include run ids and timestamps).
VOLATILE = {"refreshed_at", "run_id", "example_value", "built_at"}
# GOV_DQ_CHECKS_PASSING measures the runs themselves, keyed by each run's month: the catch-up made runs
# in months where a fresh run made none.
RUN_MEASURES = "kpi_code != 'GOV_DQ_CHECKS_PASSING'"

# One process runs every step, so Airflow starts once. Tasks read settings and connections from the
# environment when they run, so a step switches warehouse by switching environment variables.
RUNNER = """
import datetime as dt, json, os, sys
import pendulum
from airflow.dag_processing.dagbag import DagBag
from synthetic.la_case_management import generate

steps = json.loads(sys.argv[1])
dag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).dags["send_pipeline"]
for step in steps:
    os.environ.update(step["env"])
    if step["generate"]:
        url = json.loads(os.environ["AIRFLOW_CONN_LA_CASE_MANAGEMENT"])["extra"]["sqlalchemy_url"]
        generate(url, scale="demo", seed=42, as_of=dt.date.fromisoformat(step["date"]), size=float(step["size"]))
    run = dag.test(logical_date=pendulum.datetime(*map(int, step["date"].split("-")), 6, tz="Europe/London"))
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print("RESULT " + json.dumps({"date": step["date"], "state": str(run.state), "tasks": states}), flush=True)
"""


def _months_after(start: dt.date, months: int) -> dt.date:
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _warehouse_env(root: Path) -> dict[str, str]:
    data = root / "data"
    return {
        "SEND_DATA_DIR": str(data),
        "SEND_WAREHOUSE_BUILD_PATH": str(data / "warehouse" / "build.duckdb"),
        "SEND_ALERTS_PATH": str(data / "alerts.jsonl"),
    }


@pytest.fixture(scope="module")
def backfill(tmp_path_factory):
    work = tmp_path_factory.mktemp("backfill")
    airflow_home = work / "airflow"
    env = {
        **os.environ,
        "SEND_TASK_RETRIES": "0",  # fail fast, no backoff waits
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "AIRFLOW_CONN_LA_CASE_MANAGEMENT": json.dumps(
            {
                "conn_type": "generic",
                "extra": {"sqlalchemy_url": f"sqlite:///{work / 'cms.sqlite'}", "area_code": "E10000017"},
            }
        ),
    }
    env.pop("AIRFLOW_CONN_SEND_REPORTING", None)
    prepare(env, work / "prepare.log")
    dates = [_months_after(FIRST, m) for m in range(0, MONTHS + 1, STEP_MONTHS)]
    old = dates[len(dates) // 2]
    caught_up, fresh = _warehouse_env(work / "caught_up"), _warehouse_env(work / "fresh")

    def step(date: dt.date, warehouse: dict, generate: bool) -> dict:
        return {"date": date.isoformat(), "env": warehouse, "generate": generate, "size": SOURCE_SIZE}

    # The catch-up, then a fresh warehouse on the final source (already generated).
    steps = [step(d, caught_up, True) for d in dates] + [step(dates[-1], fresh, False)]
    results = _run(env, steps, work / "runs.log")
    build = Path(caught_up["SEND_WAREHOUSE_BUILD_PATH"])
    shutil.copy(build, work / "caught_up_build.duckdb")  # as the catch-up left it, before the rerun
    published = Path(caught_up["SEND_DATA_DIR"]) / "published" / "send.duckdb"
    digest_before_rerun = hashlib.sha256(published.read_bytes()).hexdigest()
    # A past date run again after later ones, as a backfill or a cleared run would. Beside it, the daily
    # case on a warehouse of its own: a run on the final source, then one a day later (plans changed,
    # no month added).
    daily = _warehouse_env(work / "daily")
    rerun, first_day = _run(env, [step(old, caught_up, False), step(dates[-1], daily, False)], work / "rerun.log")
    shutil.copy(daily["SEND_WAREHOUSE_BUILD_PATH"], work / "daily_first_build.duckdb")
    next_day = _run(env, [step(dates[-1] + dt.timedelta(days=1), daily, True)], work / "next_day.log")[0]
    return {
        "dates": dates,
        "old": old,
        "results": results,
        "rerun": rerun,
        "caught_up": Path(caught_up["SEND_DATA_DIR"]),
        "caught_up_build": work / "caught_up_build.duckdb",
        "fresh": Path(fresh["SEND_DATA_DIR"]),
        "digest_before_rerun": digest_before_rerun,
        "daily_runs": [first_day, next_day],
        "daily_build": Path(daily["SEND_WAREHOUSE_BUILD_PATH"]),
        "daily_first_build": work / "daily_first_build.duckdb",
    }


def _run(env: dict, steps: list[dict], log: Path) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(steps)],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    log.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr[-4000:]
    return [
        json.loads(line.removeprefix("RESULT ")) for line in result.stdout.splitlines() if line.startswith("RESULT ")
    ]


def _tables(con: duckdb.DuckDBPyConnection, catalog: str, schemas: tuple[str, ...]) -> set[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_catalog = ? and list_contains(?, table_schema)",
        [catalog, list(schemas)],
    ).fetchall()
    return {name for (name,) in rows}


def _compared_columns(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> list[str]:
    """The table's columns but those that say when or by which run a row was made."""
    schema, name = table.split(".")
    found = con.execute(
        "select column_name from information_schema.columns where table_catalog = ? "
        "and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, name],
    ).fetchall()
    return [column for (column,) in found if column not in VOLATILE]


def _differences(one: Path, other: Path, schemas: tuple[str, ...] = ("marts",)) -> dict[str, tuple[int, int]]:
    """Per table of `schemas`: rows only in warehouse `one` (the caught-up or narrowed build), rows only in
    `other` (the fresh or whole build), as multisets."""
    con = duckdb.connect()
    con.execute(f"attach '{one}' as caught_up (read_only)")
    con.execute(f"attach '{other}' as fresh (read_only)")
    tables = _tables(con, "caught_up", schemas)
    assert tables == _tables(con, "fresh", schemas)
    differences = {}
    for table in sorted(tables):
        columns = _compared_columns(con, "fresh", table)
        select = ", ".join(f'"{c}"' for c in columns)
        a, b = f"caught_up.{table}", f"fresh.{table}"
        if "kpi_code" in columns:
            a, b = (f"(select * from {x} where {RUN_MEASURES})" for x in (a, b))
        only = "select count(*) from (select {s} from {x} except all select {s} from {y})"
        differences[table] = (
            con.execute(only.format(s=select, x=a, y=b)).fetchone()[0],
            con.execute(only.format(s=select, x=b, y=a)).fetchone()[0],
        )
    con.close()
    return differences


def test_every_catch_up_run_published(backfill):
    results = backfill["results"]
    assert len(results) == len(backfill["dates"]) + 1 and len(backfill["dates"]) == MONTHS // STEP_MONTHS + 1
    for result in results:
        assert result["state"] == "success", result
        assert result["tasks"]["publish"] == "success", result
    with duckdb.connect(str(backfill["caught_up"] / "warehouse" / "build.duckdb"), read_only=True) as con:
        published, batches = con.execute(
            "select count(distinct run_id), count(distinct batch_id) from ops.pipeline_runs "
            "join ops.loaded_batches using (run_id) where status = 'published' and feed = 'la_case_management'"
        ).fetchone()
    assert published == batches == len(backfill["dates"])  # one LA extract batch per run, stacked in raw


def test_catch_up_marts_equal_a_fresh_full_run(backfill):
    caught_up = backfill["caught_up"] / "published" / "send.duckdb"
    fresh = backfill["fresh"] / "published" / "send.duckdb"
    with duckdb.connect(str(fresh), read_only=True) as con:
        kpi_rows, newest = con.execute("select count(*), max(period_start) from marts.kpi_values").fetchone()
    assert kpi_rows > 0 and newest == _months_after(backfill["dates"][-1], -1)  # complete months only
    differences = _differences(caught_up, fresh)
    assert differences and all(d == (0, 0) for d in differences.values()), differences
    with duckdb.connect(str(caught_up), read_only=True) as con:
        measured = con.execute(
            "select period_start from marts.kpi_values where kpi_code = 'GOV_DQ_CHECKS_PASSING' "
            "and area_type = 'la' and value is not null order by 1"
        ).fetchall()
    # each catch-up run's checks in its month; the last run's month is not complete yet
    assert [m for (m,) in measured] == backfill["dates"][:-1]


def test_rerun_of_a_past_date_leaves_the_newer_publication_in_place(backfill):
    rerun = backfill["rerun"]
    assert rerun["date"] == backfill["old"].isoformat()
    assert rerun["state"] == "success" and rerun["tasks"]["verify_quality"] == "success", rerun
    assert rerun["tasks"]["publish"] == "skipped", rerun
    published = backfill["caught_up"] / "published" / "send.duckdb"
    assert hashlib.sha256(published.read_bytes()).hexdigest() == backfill["digest_before_rerun"]
    with duckdb.connect(str(backfill["caught_up"] / "warehouse" / "build.duckdb"), read_only=True) as con:
        status = con.execute(
            "select status from ops.pipeline_runs where logical_date = ? order by recorded_at desc limit 1",
            [backfill["old"]],
        ).fetchone()[0]
    assert status == "superseded"


def _incremental_models() -> list[str]:
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    return sorted(
        f"{node['schema']}.{node['alias']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    )


def test_a_day_later_few_plans_changed_and_no_month_was_added(backfill):
    """The day-later run is the daily case: its equality with a full refresh (below, `next_day`) tests
    the changed-plan path alone, with most plans left as built."""
    assert [r["state"] for r in backfill["daily_runs"]] == ["success", "success"], backfill["daily_runs"]
    con = duckdb.connect()
    con.execute(f"attach '{backfill['daily_first_build']}' as first_day (read_only)")
    con.execute(f"attach '{backfill['daily_build']}' as next_day (read_only)")
    for table, key, fingerprint in (
        ("intermediate.int_ehcp_plan_fingerprints", "named_plan_id", "plan_fingerprint"),
        ("intermediate.int_annual_review_fingerprints", "named_plan_id", "review_fingerprint"),
        ("intermediate.int_annual_review_plan_fingerprints", "active_plan_id", "timing_fingerprint"),
    ):
        plans, changed = con.execute(
            f"select count(*), count(*) filter (where not exists (select 1 from first_day.{table} as before "
            f"where before.area_code = now.area_code and before.{key} = now.{key} "
            f"and before.{fingerprint} = now.{fingerprint})) from next_day.{table} as now"
        ).fetchone()
        assert 0 < changed < plans / 10, (table, changed, plans)
    months = "select count(distinct period_start) from {}.intermediate.int_ehcp_plans_month_end"
    assert con.execute(months.format("first_day")).fetchone() == con.execute(months.format("next_day")).fetchone()
    # The month ends' primary-key test then checks only the keys written since the day before's build.
    builds = "select count(distinct built_at), count(*) filter (where built_at = (select max(built_at) from {t})), "
    builds += "count(*) from {t}"
    stamps, newest, rows = con.execute(builds.format(t="next_day.intermediate.int_ehcp_plans_month_end")).fetchone()
    assert stamps > 1 and 0 < newest < rows / 10, (stamps, newest, rows)


@pytest.mark.parametrize("state", ["caught_up", "rerun", "next_day"])
def test_incremental_models_equal_a_full_refresh(backfill, state, tmp_path):
    """Every run built the incremental models on the previous run's rows (months added by the catch-up,
    plans changed between runs; months taken away by the rerun of a past date; a day later, only the
    plans that changed). A full refresh of a copy on the same date gives the same rows, as multisets
    both ways."""
    models = _incremental_models()
    assert {
        "intermediate.int_ehcp_plans_month_end",
        "intermediate.int_annual_reviews_due",
        "intermediate.int_annual_reviews_timed",
    } <= set(models)
    if state == "caught_up":
        incremental, as_of = backfill["caught_up_build"], backfill["dates"][-1]
    elif state == "rerun":
        incremental, as_of = backfill["caught_up"] / "warehouse" / "build.duckdb", backfill["old"]
    else:
        incremental, as_of = backfill["daily_build"], backfill["dates"][-1] + dt.timedelta(days=1)
    full = tmp_path / "full.duckdb"
    shutil.copy(incremental, full)
    build = dbt_build(
        full,
        tmp_path,
        "--full-refresh",
        "--select",
        "config.materialized:incremental",
        "--exclude-resource-type",
        "unit_test",
        env={"SEND_AS_OF": as_of.isoformat()},
    )
    assert build.returncode == 0, build.stdout[-4000:]
    con = duckdb.connect()
    con.execute(f"attach '{incremental}' as incremental (read_only)")
    con.execute(f"attach '{full}' as full_refresh (read_only)")
    for model in models:
        a, b = f"incremental.{model}", f"full_refresh.{model}"
        rows = con.execute(f"select count(*) from {b}").fetchone()[0]
        select = ", ".join(f'"{c}"' for c in _compared_columns(con, "full_refresh", model))
        only = "select count(*) from (select {s} from {x} except all select {s} from {y})"
        assert rows > 0, model
        assert con.execute(only.format(s=select, x=a, y=b)).fetchone()[0] == 0, model
        assert con.execute(only.format(s=select, x=b, y=a)).fetchone()[0] == 0, model


@pytest.mark.parametrize("state", ["caught_up", "next_day"])
def test_a_build_of_what_changed_equals_a_whole_build(backfill, state, tmp_path):
    """The catch-up's later runs (months moved, every LA table changed) and the day-later run (the same
    months) built only what changed since the run before (orchestration/build_plan.py); the day-later
    run left the ICB, manual and DfE models as they were. The whole project built again from scratch on
    a copy, same date and run, gives every model and seed the same rows, as multisets both ways."""
    narrowed = backfill["caught_up_build"] if state == "caught_up" else backfill["daily_build"]
    with duckdb.connect(str(narrowed), read_only=True) as con:
        run_id, as_of, selected = con.execute(
            "select run_id, as_of, selected from ops.dbt_build_plans order by planned_at desc limit 1"
        ).fetchone()
        builds = con.execute(
            "select plan_id is not null and plan_id != '', status from ops.dbt_builds order by started_at"
        ).fetchall()
    assert selected.split()[0] == "tag:every_run+" and builds[-1] == (True, "complete"), (selected, builds)
    assert ("tag:as_of_month+" in selected) is (state == "caught_up")
    if state == "next_day":
        assert "icb_nd_pathway" not in selected and "source:la_case_management.ssd_person+" in selected
    whole = tmp_path / "whole.duckdb"
    shutil.copy(narrowed, whole)
    build = dbt_build(
        whole,
        tmp_path,
        "--full-refresh",
        "--exclude-resource-type",
        "unit_test",
        env={"SEND_AS_OF": as_of.isoformat(), "SEND_RUN_ID": run_id},
    )
    assert build.returncode == 0, build.stdout[-4000:]
    differences = _differences(narrowed, whole, ("staging", "intermediate", "marts", "reference"))
    assert len(differences) > 80, differences
    assert {table: d for table, d in differences.items() if d != (0, 0)} == {}
