"""`dbt build` (or another dbt command) of the project against a given DuckDB warehouse, as tests run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR


def dbt_build(
    warehouse: Path, work: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return dbt("build", warehouse, work, *args, env=env)


def dbt(
    command: str, warehouse: Path, work: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A subprocess, not dbtRunner: dbt-duckdb would keep the warehouse open in the test process.
    Target and logs go to `work`, never to the checkout's dbt_project/target."""
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            command,
            *args,
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ],
        cwd=DBT_PROJECT_DIR,
        env={
            **os.environ,
            "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
            "SEND_WAREHOUSE_BUILD_PATH": str(warehouse),
            "DO_NOT_TRACK": "1",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
