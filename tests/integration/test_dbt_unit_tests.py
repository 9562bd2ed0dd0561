"""The dbt unit tests (clock edge cases, precedence, resubmissions...) on an empty warehouse.

Production DAG runs skip them (they test model logic, not data, as dbt recommends), so CI runs them
here: typed empty raw tables, then `dbt build --empty` of the models (unit tests need their inputs'
columns) and every unit test, data tests left out.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from ingestion import load
from ingestion.registry import names
from tests.dbt_cli import dbt_build


def test_every_dbt_unit_test_passes(tmp_path: Path):
    warehouse = tmp_path / "build.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for source in names():
            load.ensure_raw_tables(con, source)
    build = dbt_build(warehouse, tmp_path, "--empty", "--exclude-resource-type", "test")
    assert build.returncode == 0, build.stdout[-5000:]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    declared = set(manifest["unit_tests"])
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    passed = {r["unique_id"] for r in results if r["unique_id"].startswith("unit_test.") and r["status"] == "pass"}
    assert len(declared) >= 15 and passed == declared
