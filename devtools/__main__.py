"""Run the platform on this machine with embedded defaults (`make demo`, `make up`).

python -m devtools demo [--as-of YYYY-MM-DD] [--quick] [--no-postgres]  # sources, five monthly runs, the KPIs
python -m devtools up                                                   # Airflow UI, scheduler, dag-processor, ...

Both publish to this machine's PostgreSQL too (database send_reporting) when a server answers on
127.0.0.1:5432 (SEND_LOCAL_PG_URL to name another), unless AIRFLOW_CONN_SEND_REPORTING is set already.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from devtools.environment import LOCAL_DIR, local_environment, local_reporting, prepare, reporting_url, venv_bin
from orchestration.settings import Settings


def reporting_target(postgres: bool = True) -> tuple[dict[str, str], str]:
    """The PostgreSQL reporting target: the caller's own AIRFLOW_CONN_SEND_REPORTING if set, else a database
    on this machine's PostgreSQL when one answers; ({}, why not) otherwise."""
    if not postgres:
        return {}, "--no-postgres given"
    if os.environ.get("AIRFLOW_CONN_SEND_REPORTING"):
        return {}, "AIRFLOW_CONN_SEND_REPORTING from your environment"
    return local_reporting()


def demo(as_of: dt.date, quick: bool = False, postgres: bool = True) -> None:
    from devtools.summary import kpi_summary, publication_summary
    from devtools.walkthrough import SCENARIOS, run_scenarios
    from synthetic.generator import generate_all

    reporting, reporting_note = reporting_target(postgres)
    # Fail fast, no backoff waits.
    env = {**os.environ, **local_environment(), **reporting, "SEND_TASK_RETRIES": "0"}
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
    if reporting_url(env):
        print(f"    publishing to the DuckDB file, Parquet and PostgreSQL ({reporting_note})")
    else:
        print(f"    publishing to the DuckDB file and Parquet; PostgreSQL skipped: {reporting_note}")
    scenarios = SCENARIOS[-1:] if quick else SCENARIOS
    print(
        f"2/3 {len(scenarios)} monthly run(s) of DAG send_pipeline with `airflow dags test` (log: {log_path}); "
        "the ICB feed's information-governance story:"
    )
    run_scenarios(env, drop, as_of, log_path, scenarios=scenarios)
    print(f"3/3 published in {time.perf_counter() - started:.0f}s: {settings.published_path}\n")
    print(kpi_summary(settings.published_path))
    print()
    print(publication_summary(settings, reporting_url(env), reporting_note))


def up() -> None:
    """api-server, scheduler, dag-processor and triggerer on the embedded defaults; Ctrl-C stops all."""
    reporting, reporting_note = reporting_target()
    env = {
        **os.environ,
        **local_environment(),
        **reporting,
        "AIRFLOW__API__HOST": "127.0.0.1",  # local only: the demo's auth is the simple auth manager
        "AIRFLOW__API__PORT": os.environ.get("AIRFLOW_PORT", "8080"),
    }
    log_path = LOCAL_DIR / "up.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    prepare(env, log_path)
    processes = [
        subprocess.Popen([venv_bin("airflow"), component], env=env)
        for component in ("api-server", "scheduler", "dag-processor", "triggerer")
    ]
    print(
        f"Airflow UI on http://127.0.0.1:{env['AIRFLOW__API__PORT']} "
        f"(simple auth manager: passwords in {env['AIRFLOW_HOME']}/simple_auth_manager_passwords.json.generated); "
        f"runs publish to {Settings.from_env(env).published_path} and PostgreSQL "
        f"({reporting_note if reporting_url(env) else 'skipped: ' + reporting_note})"
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
    parser = argparse.ArgumentParser(prog="python -m devtools")
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser("demo", help="generate sources, run the pipeline DAG once, show the KPIs")
    run_demo.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date.today())
    run_demo.add_argument("--quick", action="store_true", help="one run with every feed live, no IG scenarios")
    run_demo.add_argument(
        "--no-postgres", action="store_true", help="do not publish to this machine's PostgreSQL (send_reporting)"
    )
    commands.add_parser("up", help="start the Airflow UI and scheduler locally")
    args = parser.parse_args()
    demo(args.as_of, args.quick, not args.no_postgres) if args.command == "demo" else up()


if __name__ == "__main__":
    main()
