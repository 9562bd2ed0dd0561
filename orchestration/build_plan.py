"""What the daily `dbt build` selects: what changed since the last complete build planned here.

A model is built again when a raw table it reads (through any model between) gained, lost or replaced
rows; when it depends on the run itself (tag `every_run`: the ops ledger, the run's id or start time,
the exact as-of day); or when it depends on which months are complete (tag `as_of_month`) and they
moved. Every other model keeps the table the last build left, which that build made from the same
inputs and code; the tests of the models built run again. The whole project is built when asked
(`whole`) or when there is no build to trust: the first run, a changed dbt project or uv.lock, an
as-of date before the last build's, or when the last building dbt invocation (ops.dbt_builds, written
by dbt's own hooks: dbt_project/macros/build_log.sql) was not a complete build of a plan made here (it
failed, was killed, or was run by hand).

tests/integration/test_backfill.py builds the whole project again beside a narrowed catch-up and a
narrowed day-later build, and compares every table (EXCEPT ALL both ways); tests/unit/test_build_plan.py
fails when a model that depends on the run has neither tag.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.catalog import ident

WHOLE_PROJECT = "fqn:*"  # every model, seed and test (unit tests are excluded by the build's flags)
EVERY_RUN, AS_OF_MONTH = "tag:every_run+", "tag:as_of_month+"
PLANS_DDL = """
create schema if not exists ops;
create table if not exists ops.dbt_build_plans (
    plan_id varchar primary key, run_id varchar, as_of date, project varchar, sources varchar,
    selected varchar, reason varchar, planned_at timestamptz
);
"""
# Columns whose newest value moves with every insert: a raw table's rows are only ever inserted with
# `_loaded_at = now()` or deleted (ingestion/load.py; deleted_keys carries its extract's time).
CHANGE_COLUMNS = ("_loaded_at", "detected_at")
PROJECT_PARTS = ("models", "macros", "seeds", "tests", "snapshots", "analyses", "dbt_project.yml", "../uv.lock")


@dataclass(frozen=True)
class BuildPlan:
    plan_id: str
    select: str  # dbt's --select, WHOLE_PROJECT or a union of selectors
    reason: str

    @property
    def whole(self) -> bool:
        return self.select == WHOLE_PROJECT


def plan(
    con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date, project_dir: Path, whole: bool = False
) -> BuildPlan:
    """Decide the build (`whole`: the whole project, as asked) and record it (ops.dbt_build_plans); dbt's
    hooks tie the build to it through SEND_BUILD_PLAN. Reads the build warehouse: raw tables, ops ledger."""
    project, sources = project_fingerprint(project_dir), source_fingerprints(con)
    if whole:
        select, reason = WHOLE_PROJECT, "the whole project, as asked (DAG param whole_build)"
    else:
        select, reason = _selection(con, as_of, project, sources)
    built = BuildPlan(uuid.uuid4().hex, select, reason)
    con.execute(PLANS_DDL)
    con.execute(
        "insert into ops.dbt_build_plans values (?, ?, ?, ?, ?, ?, ?, now())",
        [built.plan_id, run_id, as_of, project, json.dumps(sources, sort_keys=True), select, reason],
    )
    return built


def _selection(con, as_of: dt.date, project: str, sources: dict[str, str]) -> tuple[str, str]:
    last, untrusted = _last_build(con)
    if last is None:
        return WHOLE_PROJECT, untrusted
    if last["project"] != project:
        return WHOLE_PROJECT, "the dbt project changed"
    if as_of < last["as_of"]:
        return WHOLE_PROJECT, f"as of {as_of}, before the last build's {last['as_of']}"
    changed = sorted(t for t in sources.keys() | last["sources"].keys() if sources.get(t) != last["sources"].get(t))
    selectors = [EVERY_RUN]
    if _complete_months(as_of) != _complete_months(last["as_of"]):
        selectors.append(AS_OF_MONTH)
    selectors += [f"source:{table.removeprefix('raw_')}+" for table in changed]
    months = "months moved" if AS_OF_MONTH in selectors else "same months"
    return " ".join(selectors), f"{len(changed)} raw tables changed, {months}"


def _complete_months(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """What as_of_month models key on: months ended before the as-of date, and on it (a file of a month
    counts from the month's last day: macros/icb_nd_pathway_current_files.sql)."""
    next_day = as_of + dt.timedelta(days=1)
    return as_of.replace(day=1), next_day.replace(day=1)


def _last_build(con: duckdb.DuckDBPyConnection) -> tuple[dict | None, str]:
    """The plan of the newest building dbt invocation if it is to be trusted, else why not."""
    listed = con.execute("select table_name from information_schema.tables where table_schema = 'ops'").fetchall()
    if not {"dbt_builds", "dbt_build_plans"} <= {name for (name,) in listed}:
        return None, "the first build of this warehouse"
    row = con.execute(
        "select builds.status, builds.as_of = plans.as_of, plans.as_of, plans.project, plans.sources "
        "from ops.dbt_builds as builds left join ops.dbt_build_plans as plans on builds.plan_id = plans.plan_id "
        "order by builds.started_at desc limit 1"
    ).fetchone()
    if row is None:
        return None, "the first build of this warehouse"
    status, same_date, as_of, project, sources = row
    if status != "complete":
        return None, f"the last dbt build did not complete ({status})"
    if not same_date:
        return None, "the last dbt build was not one this pipeline planned (run by hand?)"
    return {"as_of": as_of, "project": project, "sources": json.loads(sources)}, ""


def source_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Per raw table (`schema.table`): its columns, row count and newest change time."""
    columns = con.execute(
        "select table_schema, table_name, list(column_name || ' ' || data_type order by ordinal_position) "
        "from information_schema.columns "
        "where table_catalog = current_database() and starts_with(table_schema, 'raw_') group by all order by all"
    ).fetchall()
    fingerprints = {}
    for schema, table, described in columns:
        names = [c.split(" ", 1)[0] for c in described]
        newest = next((c for c in CHANGE_COLUMNS if c in names), None)
        latest_sql = f"max({ident(newest)})::varchar" if newest else "null"
        count, latest = con.execute(f"select count(*), {latest_sql} from {ident(schema)}.{ident(table)}").fetchone()
        # A table without a change column cannot show a same-size replacement: it counts as changed.
        mark = latest if newest else uuid.uuid4().hex
        fingerprints[f"{schema}.{table}"] = hashlib.sha256(json.dumps([described, count, mark]).encode()).hexdigest()
    return fingerprints


def project_fingerprint(project_dir: Path) -> str:
    """Every file of the dbt project that can change what it builds (not target/, logs/), and the pinned
    stack beside it (a new dbt or DuckDB)."""
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        path = project_dir / part
        for file in sorted([path] if path.is_file() else path.rglob("*") if path.is_dir() else []):
            if file.is_file():
                digest.update(str(file.relative_to(project_dir)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()
