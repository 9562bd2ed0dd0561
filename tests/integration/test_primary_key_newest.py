"""The primary_key test narrowed to the newest build's keys (`newest_by`, dbt_project/macros/test_primary_key.sql),
in real dbt builds of a small incremental model that stamps its rows as int_ehcp_plans_month_end does."""

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
      - primary_key: {arguments: {columns: [k], newest_by: built_at}}
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "macros").mkdir()
    shutil.copy(DBT_PROJECT_DIR / "macros" / "test_primary_key.sql", tmp_path / "macros")
    (tmp_path / "models" / "stamped.sql").write_text(MODEL)
    (tmp_path / "models" / "_models.yml").write_text(SCHEMA)
    (tmp_path / "dbt_project.yml").write_text("name: probe\nversion: '1.0.0'\nprofile: probe\nconfig-version: 2\n")
    warehouse = tmp_path / "probe.duckdb"
    (tmp_path / "profiles.yml").write_text(
        f"probe:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: '{warehouse}', threads: 1}}\n"
    )
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table arrivals (k integer, batch integer)")
    return tmp_path


def _build(project: Path, batch: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--vars", f"{{batch: {batch}}}", *args],
        cwd=project,
        env={**os.environ, "DBT_PROFILES_DIR": str(project), "DO_NOT_TRACK": "1"},
        capture_output=True,
        text=True,
    )


def _arrive(project: Path, *rows: tuple[int, int], stamped: tuple[int, str] | None = None) -> None:
    with duckdb.connect(str(project / "probe.duckdb")) as con:
        con.executemany("insert into arrivals values (?, ?)", rows)
        if stamped:  # a row an earlier build left behind, written there by hand
            con.execute("insert into stamped values (?, ?::timestamptz)", stamped)


def test_a_key_the_newest_build_repeats_fails_whatever_build_wrote_its_twin(project):
    _arrive(project, (1, 1), (2, 1))
    assert _build(project, 1).returncode == 0  # the first build: every row checked
    _arrive(project, (3, 2))
    assert _build(project, 2).returncode == 0
    _arrive(project, (1, 3))  # key 1 again, its twin written two builds ago
    failed = _build(project, 3)
    assert failed.returncode == 1 and "primary_key_stamped_k" in failed.stdout, failed.stdout[-2000:]


def test_only_the_newest_builds_keys_are_checked_unless_one_build_wrote_every_row(project):
    _arrive(project, (1, 1), (2, 1))
    assert _build(project, 1).returncode == 0
    _arrive(project, (3, 2), stamped=(2, "2020-01-01"))  # an old repeat of key 2: that build's to catch
    assert _build(project, 2).returncode == 0
    with duckdb.connect(str(project / "probe.duckdb")) as con:  # as if one whole build had written them all
        con.execute("update stamped set built_at = (select max(built_at) from stamped)")
    tested = _build(project, 2, "--select", "test_type:data")
    assert tested.returncode == 1 and "primary_key_stamped_k" in tested.stdout, tested.stdout[-2000:]
