"""The platform's embedded defaults on this machine: SQLite Airflow metadata, a DuckDB warehouse and
synthetic sources under `.local/` (`local_environment`), a reporting database on the machine's
PostgreSQL when one answers (`local_reporting`: the demo and `make up` only), and an Airflow metadata DB
made ready for them (`prepare`). Used by `python -m devtools`, the tests and the benchmarks; never by
production.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT, WAREHOUSE_POOL

LOCAL_DIR = REPO_ROOT / ".local"
AREA_CODE = "E10000017"  # Lancashire
DFE_RELEASE = REPO_ROOT.parent / "shared" / "reference" / "dfe_ehcp_2025"
STATISTICAL_NEIGHBOURS = REPO_ROOT.parent / "shared" / "reference" / "statistical_neighbours"


# The machine's PostgreSQL, as an administrator (PGPASSWORD or a password in the URL if it needs one).
LOCAL_PG_URL = os.environ.get("SEND_LOCAL_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
LOCAL_REPORTING_DB = "send_reporting"  # the database the demo publishes to, as the compose reporting-db's
LOCAL_READER_ROLE = "send_bi_reader"  # the read-only role publication grants (as docker/reporting-db/ makes)


def local_environment(local_dir: Path = LOCAL_DIR) -> dict[str, str]:
    """Every variable the platform reads, set to embedded defaults under `local_dir`. No reporting
    connection: a test or benchmark publishes to PostgreSQL only when it asks (its own database, as
    tests/integration/test_pipeline_dag.py does); the demo adds `local_reporting()`."""
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
        **({"SEND_STATISTICAL_NEIGHBOURS_DIR": str(STATISTICAL_NEIGHBOURS)} if STATISTICAL_NEIGHBOURS.is_dir() else {}),
        # No Chromium to print the scorecard's PDF board pack (make install adds Debian's when it can): pages only.
        **({} if os.environ.get("SEND_CHROMIUM") or shutil.which("chromium") else {"SEND_SCORECARD_PDF": "0"}),
    }


def la_connections(urls: dict[str, str]) -> dict[str, str]:
    """The LA case-management sources of several LAs (area code -> SQLAlchemy URL) as the DAG reads them:
    one Airflow connection each (`la_case_management_<area code>`, the area code in its extra) and the
    Variable listing them, over which the extract is mapped."""
    env, ids = {}, []
    for area_code, url in urls.items():
        conn_id = f"la_case_management_{area_code.lower()}"
        extra = {"sqlalchemy_url": url, "area_code": area_code}
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({"conn_type": "generic", "extra": extra})
        ids.append(conn_id)
    env["AIRFLOW_VAR_LA_CASE_MANAGEMENT_CONNECTIONS"] = json.dumps(ids)
    return env


def local_reporting(admin_url: str = LOCAL_PG_URL) -> tuple[dict[str, str], str]:
    """The reporting connection (AIRFLOW_CONN_SEND_REPORTING) to database `send_reporting` on this machine's
    PostgreSQL, created if absent, and the read-only role publication grants; or ({}, why not) when no
    server answers or the database cannot be made. The second value says which, in a sentence."""
    import sqlalchemy as sa

    admin = sa.make_url(admin_url)
    where = f"{admin.host or 'localhost'}:{admin.port or 5432}"
    engine = sa.create_engine(
        admin, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect() as conn:
            exists = conn.exec_driver_sql("select 1 from pg_database where datname = %s", (LOCAL_REPORTING_DB,))
            if exists.first() is None:
                conn.exec_driver_sql(f'create database "{LOCAL_REPORTING_DB}"')
    except Exception as error:  # noqa: BLE001 - any failure means "no reporting database here"
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0] if str(error).strip() else ""
        return {}, f"no usable PostgreSQL at {where} ({type(error).__name__}: {reason[:120]})"
    finally:
        engine.dispose()
    connection = {
        "conn_type": "postgres",
        "host": admin.host or "localhost",
        "port": admin.port or 5432,
        "login": admin.username or "",
        "password": admin.password or "",
        "schema": LOCAL_REPORTING_DB,
    }
    env = {"AIRFLOW_CONN_SEND_REPORTING": json.dumps(connection), "SEND_REPORTING_READER_ROLE": LOCAL_READER_ROLE}
    return env, f"database {LOCAL_REPORTING_DB} at {where}"


def reporting_url(env: dict[str, str]) -> str | None:
    """The SQLAlchemy URL the pipeline publishes to under `env` (AIRFLOW_CONN_SEND_REPORTING, JSON form)."""
    from orchestration.connections import sqlalchemy_url

    value = env.get("AIRFLOW_CONN_SEND_REPORTING")
    if not value:
        return None
    if not value.lstrip().startswith("{"):  # Airflow's URI form: postgres://user@host:port/db
        return value.replace("postgres://", "postgresql+psycopg2://", 1).replace(
            "postgresql://", "postgresql+psycopg2://", 1
        )
    fields = json.loads(value)
    conn = SimpleNamespace(
        conn_type=fields.get("conn_type", "postgres"),
        login=fields.get("login"),
        password=fields.get("password"),
        host=fields.get("host"),
        port=fields.get("port"),
        schema=fields.get("schema"),
        extra_dejson=fields.get("extra", {}),
    )
    return sqlalchemy_url(conn)


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
