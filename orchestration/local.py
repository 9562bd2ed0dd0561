"""Run the platform on this machine with embedded defaults (SQLite Airflow metadata, DuckDB warehouse,
synthetic sources generated on the fly). Used by `make demo` and `make up`.

    python -m orchestration.local demo [--as-of YYYY-MM-DD]
    python -m orchestration.local up
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT, WAREHOUSE_POOL, Settings

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
        result = subprocess.run([_bin("airflow"), *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text().splitlines()[-40:])
        sys.exit(f"airflow {' '.join(args)} failed (exit {result.returncode}); last lines of {log_path}:\n{tail}")


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def prepare(env: dict[str, str], log_path: Path) -> None:
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    _airflow(["db", "migrate"], env, log_path)
    _airflow(["pools", "set", WAREHOUSE_POOL, "1", "Writers of the SEND build warehouse"], env, log_path)


def demo(as_of: dt.date, quick: bool = False) -> None:
    from orchestration.ig_scenarios import SCENARIOS, run_scenarios
    from synthetic.generator import generate_all
    from warehouse.summary import kpi_summary

    env = {**os.environ, **local_environment(), "SEND_TASK_RETRIES": "0"}  # fail fast, no backoff waits
    settings = Settings.from_env(env)
    shutil.rmtree(settings.data_dir, ignore_errors=True)  # every demo starts from the same sources
    log_path = LOCAL_DIR / "demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("")
    started = time.perf_counter()

    source_url = json.loads(env["AIRFLOW_CONN_LA_CASE_MANAGEMENT"])["extra"]["sqlalchemy_url"]
    Path(source_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    drop = settings.data_dir / "provider_drop"  # what providers and teams will deliver, month by month
    generate_all("demo", seed=42, as_of=as_of, target=source_url, out=drop, progress=False, icb_months=12)
    print(f"1/3 synthetic sources as of {as_of}: LA case-management database, ICB provider files, manual returns")
    prepare(env, log_path)
    scenarios = SCENARIOS[-1:] if quick else SCENARIOS
    print(
        f"2/3 {len(scenarios)} monthly run(s) of DAG send_pipeline with `airflow dags test` (log: {log_path}); "
        "the ICB feed's information-governance story:"
    )
    run_scenarios(env, drop, as_of, log_path, scenarios=scenarios)
    print(f"3/3 published in {time.perf_counter() - started:.0f}s: {settings.published_path}\n")
    print(kpi_summary(settings.published_path))
    print(f"\nBI tools and SQL clients open it read-only: {settings.published_path} (marts.kpi_values, ...)")


def up() -> None:
    """api-server, scheduler, dag-processor and triggerer on the embedded defaults; Ctrl-C stops all."""
    env = {
        **os.environ,
        **local_environment(),
        "AIRFLOW__API__HOST": "127.0.0.1",  # local only: the demo's auth is the simple auth manager
        "AIRFLOW__API__PORT": os.environ.get("AIRFLOW_PORT", "8080"),
    }
    log_path = LOCAL_DIR / "up.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    prepare(env, log_path)
    processes = [
        subprocess.Popen([_bin("airflow"), component], env=env)
        for component in ("api-server", "scheduler", "dag-processor", "triggerer")
    ]
    print(
        f"Airflow UI on http://127.0.0.1:{env['AIRFLOW__API__PORT']} "
        f"(simple auth manager: passwords in {env['AIRFLOW_HOME']}/simple_auth_manager_passwords.json.generated)"
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the components with us, not orphan them
    try:
        for process in processes:
            process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            process.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m orchestration.local")
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser("demo", help="generate sources, run the pipeline DAG once, show the KPIs")
    run_demo.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date.today())
    run_demo.add_argument("--quick", action="store_true", help="one run with every feed live, no IG scenarios")
    commands.add_parser("up", help="start the Airflow UI and scheduler locally")
    args = parser.parse_args()
    demo(args.as_of, args.quick) if args.command == "demo" else up()


if __name__ == "__main__":
    main()
