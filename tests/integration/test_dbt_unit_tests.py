"""The dbt unit tests (clock edge cases, precedence, resubmissions...) on an empty warehouse.

Production DAG runs skip them (they test model logic, not data, as dbt recommends), so CI runs them
here: typed empty raw tables, then `dbt build --empty` of the models (unit tests need their inputs'
columns, and an incremental model's test given `this` needs the model's table), then every unit test.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from ingestion import load
from ingestion.registry import names
from tests.dbt_cli import dbt, dbt_build


def test_every_dbt_unit_test_passes(tmp_path: Path):
    warehouse = tmp_path / "build.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for source in names():
            load.ensure_raw_tables(con, source)
    models = dbt_build(warehouse, tmp_path, "--empty", "--exclude-resource-type", "test", "unit_test")
    assert models.returncode == 0, models.stdout[-5000:]
    build = dbt("test", warehouse, tmp_path, "--select", "test_type:unit")
    assert build.returncode == 0, build.stdout[-5000:]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    declared = set(manifest["unit_tests"])
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    passed = {r["unique_id"] for r in results if r["unique_id"].startswith("unit_test.") and r["status"] == "pass"}
    assert len(declared) >= 15 and passed == declared
