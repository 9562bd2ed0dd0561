"""The daily build plan: the whole project unless the last build can be trusted, then only what changed.

The equality of a narrowed build with a whole one on real data is tests/integration/test_backfill.py's.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import pytest

from orchestration import build_plan
from orchestration.build_plan import AS_OF_MONTH, EVERY_RUN, WHOLE_PROJECT
from orchestration.settings import DBT_PROJECT_DIR

DAY = dt.date(2026, 11, 2)


@pytest.fixture
def project(tmp_path):
    shutil.copytree(DBT_PROJECT_DIR / "models", tmp_path / "models")
    shutil.copytree(DBT_PROJECT_DIR / "macros", tmp_path / "macros")
    shutil.copy(DBT_PROJECT_DIR / "dbt_project.yml", tmp_path)
    return tmp_path


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema raw_la_case_management; create schema raw_icb_nd_pathway")
    for schema, table in (("raw_la_case_management", "ssd_person"), ("raw_icb_nd_pathway", "nd_referrals")):
        con.execute(f"create table {schema}.{table} (id varchar, _batch_id varchar, _loaded_at timestamptz)")
        con.execute(f"insert into {schema}.{table} values ('a', 'b1', now()), ('b', 'b1', now())")
    con.execute(
        "create table raw_la_case_management.deleted_keys "
        "(source_table varchar, area_code varchar, record_key varchar, detected_at timestamptz, _batch_id varchar)"
    )
    yield con
    con.close()


def _build(con, planned, status="complete"):
    """What dbt's hooks record (dbt_project/macros/build_log.sql) for a build of `planned` on its date;
    None: a build run by hand (no plan, a date of its own)."""
    con.execute(
        "create table if not exists ops.dbt_builds (invocation_id varchar primary key, plan_id varchar, "
        "run_id varchar, command varchar, as_of date, started_at timestamptz, finished_at timestamptz, status varchar)"
    )
    plan_id = planned.plan_id if planned else ""
    con.execute(
        "insert into ops.dbt_builds select uuid()::varchar, $id, 'run', 'build', "
        "coalesce((select as_of from ops.dbt_build_plans where plan_id = $id), $day), now(), now(), $status",
        {"id": plan_id, "day": DAY, "status": status},
    )


def _insert(con, table="raw_la_case_management.ssd_person"):
    con.execute(f"insert into {table} values ('c', 'b2', now() + interval 1 second)")


def test_the_first_build_is_the_whole_project(con, project):
    planned = build_plan.plan(con, "run", DAY, project)
    assert planned.select == WHOLE_PROJECT and planned.whole
    assert con.execute("select selected, reason from ops.dbt_build_plans").fetchone() == (WHOLE_PROJECT, planned.reason)


def test_after_a_complete_planned_build_only_what_changed(con, project):
    _build(con, build_plan.plan(con, "first", DAY, project))
    same = build_plan.plan(con, "same data", DAY, project)
    assert same.select == EVERY_RUN
    _build(con, same)
    _insert(con)
    planned = build_plan.plan(con, "new rows", DAY + dt.timedelta(days=1), project)
    assert planned.select == f"{EVERY_RUN} source:la_case_management.ssd_person+"
    assert planned.reason == "1 raw tables changed, same months"


@pytest.mark.parametrize(
    "change",
    [
        "delete from raw_la_case_management.ssd_person where id = 'a'",  # fewer rows
        # a batch loaded again: its rows replaced by as many, loaded later
        "delete from raw_la_case_management.ssd_person where _batch_id = 'b1'; "
        "insert into raw_la_case_management.ssd_person values ('a', 'b1', now() + interval 1 second), "
        "('b', 'b1', now() + interval 1 second)",
        "alter table raw_la_case_management.ssd_person add column extra varchar",  # a column the source added
        "insert into raw_la_case_management.deleted_keys values ('ssd_person', 'E1', 'a', now(), 'b2')",
    ],
)
def test_every_kind_of_raw_change_is_seen(con, project, change):
    _build(con, build_plan.plan(con, "first", DAY, project))
    con.execute(change)
    changed = set(build_plan.plan(con, "next", DAY, project).select.split()) - {EVERY_RUN}
    assert len(changed) == 1 and changed < {
        "source:la_case_management.ssd_person+",
        "source:la_case_management.deleted_keys+",
    }


def test_a_table_without_a_change_column_is_always_built(con, project):
    con.execute("create table raw_la_case_management.unstamped (id varchar)")
    _build(con, build_plan.plan(con, "first", DAY, project))
    assert "source:la_case_management.unstamped+" in build_plan.plan(con, "next", DAY, project).select


@pytest.mark.parametrize(
    ("last", "now", "months_moved"),
    [
        (dt.date(2026, 11, 2), dt.date(2026, 11, 20), False),
        (dt.date(2026, 10, 31), dt.date(2026, 11, 1), True),  # October complete for the LA feed's months
        (dt.date(2026, 11, 29), dt.date(2026, 11, 30), True),  # November's files count from its last day
        (dt.date(2026, 10, 30), dt.date(2026, 12, 2), True),
    ],
)
def test_month_models_are_built_when_the_complete_months_moved(con, project, last, now, months_moved):
    _build(con, build_plan.plan(con, "first", last, project))
    assert (AS_OF_MONTH in build_plan.plan(con, "next", now, project).select.split()) is months_moved


@pytest.mark.parametrize("status", ["failed", "started"])  # a build that failed, or was killed
def test_after_a_build_that_did_not_complete_the_whole_project(con, project, status):
    _build(con, build_plan.plan(con, "first", DAY, project))
    _build(con, build_plan.plan(con, "second", DAY, project), status)
    planned = build_plan.plan(con, "third", DAY, project)
    assert (planned.select, planned.reason) == (WHOLE_PROJECT, f"the last dbt build did not complete ({status})")


def test_after_a_build_run_by_hand_the_whole_project(con, project):
    _build(con, build_plan.plan(con, "first", DAY, project))
    _build(con, None)  # dbt run outside the pipeline: no plan of its own
    planned = build_plan.plan(con, "next", DAY, project)
    assert (planned.select, planned.reason) == (
        WHOLE_PROJECT,
        "the last dbt build was not one this pipeline planned (run by hand?)",
    )


def test_after_a_code_change_or_an_earlier_date_the_whole_project(con, project):
    _build(con, build_plan.plan(con, "first", DAY, project))
    assert build_plan.plan(con, "earlier", DAY - dt.timedelta(days=1), project).select == WHOLE_PROJECT
    model = project / "models" / "marts" / "kpi_values.sql"
    model.write_text(model.read_text() + "\n-- edited\n")
    planned = build_plan.plan(con, "edited", DAY, project)
    assert (planned.select, planned.reason) == (WHOLE_PROJECT, "the dbt project changed")


def test_models_that_depend_on_the_run_carry_the_tag_the_plan_selects():
    """A model reading the ops ledger or the run (its id, start time) is built every run; one reading the
    as-of date is built every run or when the complete months moved. A new one without the tag fails here."""
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    macros = manifest["macros"]

    def reaches(macro_id: str, names: set[str], seen: set[str]) -> bool:
        if macro_id in seen:
            return False
        seen.add(macro_id)
        if macro_id.split(".")[-1] in names:
            return True
        return any(reaches(m, names, seen) for m in macros.get(macro_id, {}).get("depends_on", {}).get("macros", []))

    checked = 0
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        used = node["depends_on"]["macros"]
        tags = set(node["config"]["tags"])
        # An incremental model's stamp says which build wrote each row (stale by design for rows kept).
        stamped = node["config"]["materialized"] != "incremental" and any(
            word in node["raw_code"] for word in ("run_started_at", "invocation_id")
        )
        if stamped or any(reaches(m, {"ops_table", "pipeline_run_id"}, set()) for m in used):
            assert "every_run" in tags, node["name"]
            checked += 1
        elif any(reaches(m, {"as_of_date"}, set()) for m in used):
            assert tags & {"every_run", "as_of_month"}, node["name"]
            checked += 1
    assert checked >= 14


def test_a_whole_build_when_asked_whatever_changed(con, project):
    _build(con, build_plan.plan(con, "first", DAY, project))
    planned = build_plan.plan(con, "asked", DAY, project, whole=True)  # the DAG param whole_build
    assert (planned.select, planned.reason) == (WHOLE_PROJECT, "the whole project, as asked (DAG param whole_build)")
