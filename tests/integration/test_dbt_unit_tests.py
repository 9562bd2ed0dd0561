"""The dbt unit tests (clock edge cases, precedence, resubmissions...) on an empty warehouse.

Production DAG runs skip them (they test model logic, not data, as dbt recommends), so CI runs them
here: typed empty raw tables, then `dbt build --empty` of the models (unit tests need their inputs'
columns) and every unit test, data tests left out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from ingestion import load
from orchestration.feeds import SOURCES
from orchestration.settings import DBT_PROJECT_DIR


def test_every_dbt_unit_test_passes(tmp_path: Path):
    warehouse = tmp_path / "build.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for source in SOURCES:
            load.ensure_raw_tables(con, source)
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "SEND_WAREHOUSE_BUILD_PATH": str(warehouse),
        "DO_NOT_TRACK": "1",
    }
    build = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "build",
            "--empty",
            "--exclude-resource-type",
            "test",
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-5000:]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    declared = {uid for uid in manifest["unit_tests"]}
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    passed = {r["unique_id"] for r in results if r["unique_id"].startswith("unit_test.") and r["status"] == "pass"}
    assert len(declared) >= 15 and passed == declared
