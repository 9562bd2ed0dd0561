"""The primary_key test narrowed to the keys written since the last complete pipeline build (`written_at`,
dbt_project/macros/test_primary_key.sql), in real dbt builds of a small incremental model that stamps its
rows as int_ehcp_plans_month_end does, with the project's own build ledger hooks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import DBT_PROJECT_DIR

MODEL = """{{ config(materialized='incremental', incremental_strategy='append') }}
select k, '{{ run_started_at.isoformat() }}'::timestamptz as built_at
from {{ source('probe', 'arrivals') }}
where batch {{ '=' if is_incremental() else '<=' }} {{ var('batch') }}
"""
SCHEMA = """sources:
  - name: probe
    schema: main
    tables: [{name: arrivals}]
models:
  - name: stamped
    data_tests:
      - primary_key: {arguments: {columns: [k], written_at: built_at}}
"""
PROJECT = """name: probe
version: '1.0.0'
profile: probe
config-version: 2
vars: {as_of: '2026-11-01', run_id: manual}
on-run-start: ["{{ record_build_start() }}"]
on-run-end: ["{{ record_build_end(results) }}"]
"""
MACROS = ("test_primary_key.sql", "ops_table.sql", "build_log.sql", "run_context.sql")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "macros").mkdir()
    for macro in MACROS:
        shutil.copy(DBT_PROJECT_DIR / "macros" / macro, tmp_path / "macros")
    (tmp_path / "models" / "stamped.sql").write_text(MODEL)
    (tmp_path / "models" / "_models.yml").write_text(SCHEMA)
    (tmp_path / "dbt_project.yml").write_text(PROJECT)
    warehouse = tmp_path / "probe.duckdb"
    (tmp_path / "profiles.yml").write_text(
        f"probe:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: '{warehouse}', threads: 1}}\n"
    )
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table arrivals (k integer, batch integer)")
    return tmp_path


def _build(project: Path, batch: int, *args: str, plan: str = "planned") -> subprocess.CompletedProcess[str]:
    """A dbt build as the pipeline runs it (a plan id: SEND_BUILD_PLAN), or by hand (plan="")."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--vars", f"{{batch: {batch}}}", *args],
        cwd=project,
        env={**os.environ, "DBT_PROFILES_DIR": str(project), "DO_NOT_TRACK": "1", "SEND_BUILD_PLAN": plan},
        capture_output=True,
        text=True,
    )


def _arrive(project: Path, *rows: tuple[int, int], stamped: tuple[int, str] | None = None) -> None:
    with duckdb.connect(str(project / "probe.duckdb")) as con:
        con.executemany("insert into arrivals values (?, ?)", rows)
        if stamped:  # a row an earlier build left behind, written there by hand
            con.execute("insert into stamped values (?, ?::timestamptz)", stamped)


def _fails(build: subprocess.CompletedProcess[str]) -> bool:
    return build.returncode == 1 and "primary_key_stamped_k" in build.stdout


def test_a_key_repeated_since_the_last_passed_build_fails_whatever_build_wrote_its_twin(project):
    _arrive(project, (1, 1), (2, 1))
    assert _build(project, 1).returncode == 0  # no complete build before: every row checked
    _arrive(project, (3, 2))
    assert _build(project, 2).returncode == 0
    _arrive(project, (1, 3))  # key 1 again, its twin written two builds ago
    assert _fails(_build(project, 3))


def test_a_failed_builds_keys_are_checked_again_until_a_planned_build_passes(project):
    _arrive(project, (1, 1), (2, 1))
    assert _build(project, 1).returncode == 0
    _arrive(project, (2, 2))
    assert _fails(_build(project, 2))  # the repeat stays in the table: the model was built
    _arrive(project, (3, 3))
    assert _fails(_build(project, 3))  # the next build writes other keys: the repeat is still found
    assert _build(project, 99, "--exclude", "test_type:data", plan="").returncode == 0  # by hand, untested
    assert _fails(_build(project, 3, "--select", "test_type:data"))  # ... and counts for nothing


def test_rows_before_the_last_passed_build_are_left_to_it_unless_none_passed(project):
    _arrive(project, (1, 1), (2, 1))
    assert _build(project, 1).returncode == 0
    _arrive(project, (3, 2), stamped=(2, "2020-01-01"))  # an old repeat of key 2: an earlier build's to catch
    assert _build(project, 2).returncode == 0
    with duckdb.connect(str(project / "probe.duckdb")) as con:
        con.execute("update ops.dbt_builds set status = 'failed'")  # as if no build had ever passed
    assert _fails(_build(project, 2, "--select", "test_type:data"))
