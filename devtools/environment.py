"""The platform's embedded defaults on this machine: SQLite Airflow metadata, a DuckDB warehouse and
synthetic sources under `.local/` (`local_environment`), and an Airflow metadata DB made ready for
them (`prepare`). Used by `python -m devtools`, the tests and the benchmarks; never by production.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT, WAREHOUSE_POOL

LOCAL_DIR = REPO_ROOT / ".local"
AREA_CODE = "E10000017"  # Lancashire
DFE_RELEASE = REPO_ROOT.parent / "shared" / "reference" / "dfe_ehcp_2025"


def local_environment(local_dir: Path = LOCAL_DIR) -> dict[str, str]:
    """Every variable the platform reads, set to embedded defaults under `local_dir`."""
    data_dir = local_dir / "data"
    airflow_home = local_dir / "airflow"
    source_db = data_dir / "source" / "la_case_management.sqlite"
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Europe/London",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "AIRFLOW__COSMOS__CACHE_DIR": str(local_dir / "cosmos"),
        "AIRFLOW_CONN_LA_CASE_MANAGEMENT": json.dumps(
            {
                "conn_type": "generic",
                "extra": {"sqlalchemy_url": f"sqlite:///{source_db}", "area_code": AREA_CODE},
            }
        ),
        "SEND_DATA_DIR": str(data_dir),
        "SEND_WAREHOUSE_BUILD_PATH": str(data_dir / "warehouse" / "build.duckdb"),
        "SEND_PSEUDONYMISATION_KEY": _local_key(local_dir),
        "SEND_INBOX_SETTLE_SECONDS": "0",  # the demo writes its files and reads them at once
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DO_NOT_TRACK": "1",
        "SODA_CORE_TELEMETRY_ENABLED": "false",
        # The public DfE release shipped beside the checkout on these machines (else an empty inbox).
        **({"SEND_DFE_RELEASE_DIR": str(DFE_RELEASE)} if DFE_RELEASE.is_dir() else {}),
    }


def _local_key(local_dir: Path) -> str:
    """A random key made once per checkout for the demo; production takes it from a secrets backend."""
    path = local_dir / "secrets" / "pseudonymisation.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _airflow(args: list[str], env: dict[str, str], log_path: Path) -> None:
    with log_path.open("a") as log:
        log.write(f"\n$ airflow {' '.join(args)}\n")
        log.flush()
        result = subprocess.run([venv_bin("airflow"), *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text().splitlines()[-40:])
        sys.exit(f"airflow {' '.join(args)} failed (exit {result.returncode}); last lines of {log_path}:\n{tail}")


def venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def prepare(env: dict[str, str], log_path: Path) -> None:
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    _airflow(["db", "migrate"], env, log_path)
    _airflow(["pools", "set", WAREHOUSE_POOL, "1", "Writers of the SEND build warehouse"], env, log_path)
