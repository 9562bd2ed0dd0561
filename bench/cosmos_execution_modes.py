"""How should the dbt step of send_pipeline run? Times real DAG runs at demo scale in three modes.

    .venv/bin/python -m bench.cosmos_execution_modes [--repeats 3]

Modes (`dbt_tasks(mode)` below; each run gets a DAG file building send_pipeline with that dbt step through
`send_pipeline_dag(dbt_step=...)` in dags/send_pipeline.py, which runs `build`):
  per_node  a Cosmos task per dbt node, each running `dbt build` for its node (TestBehavior.BUILD)
  build     one task running `dbt build` for the whole project (Cosmos DbtBuildLocalOperator)
  watcher   Cosmos ExecutionMode.WATCHER: one producer `dbt build` plus a sensor per model and per
            model's tests (TestBehavior.AFTER_EACH: watcher mode refuses BUILD)

The dbt project is edited while this runs in a shared checkout, so by default the measurement runs on
a snapshot: the committed tree (`git archive HEAD`) with this checkout's DAG and bench
files laid over it, and its own manifest (`--tree` measures the working tree as it is instead).
Each run is a fresh process running `dag.test()` in-process on an embedded SQLite metadata DB, with
a fresh warehouse on the same synthetic demo source, so every run does the same work. Modes are
interleaved so load from other processes on the machine spreads over all of them. Reported: DAG
file parse time, wall time of the dbt part (first dbt task start to last dbt task end), of the whole
run, task counts; medians go to the table and to .local/bench/cosmos_execution_modes.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from devtools.environment import local_environment, prepare
from orchestration.settings import DBT_PRODUCTION_FLAGS, DBT_PROJECT_DIR, REPO_ROOT, WAREHOUSE_POOL

MODES = ("per_node", "build", "watcher")
AS_OF = dt.date(2025, 7, 1)
OUTPUT = REPO_ROOT / ".local" / "bench" / "cosmos_execution_modes.json"
WORK_DIR = REPO_ROOT / ".local" / "bench" / "work"
SNAPSHOT_DIR = REPO_ROOT / ".local" / "bench" / "snapshot"
# Laid over the committed tree: the files whose variants are measured, and this script.
OVERLAY = ("dags/send_pipeline.py", "bench/__init__.py", "bench/cosmos_execution_modes.py")
# The DAG file of one mode: the real send_pipeline, its dbt step swapped, under its own id.
MODE_DAG = '''"""send_pipeline with its dbt step in {mode} mode: an Airflow DAG for bench/cosmos_execution_modes.py."""
import sys

sys.path[:0] = [{dags!r}, {root!r}]
from bench.cosmos_execution_modes import dbt_tasks  # noqa: E402
from send_pipeline import send_pipeline_dag  # noqa: E402

send_pipeline_dag(dbt_step=lambda: dbt_tasks({mode!r}), dag_id={dag_id!r})
'''
# Measured last session on the production shape (CeleryExecutor, docker-compose.yml): start-up
# cost of one task on the worker, before it does any work.
CELERY_TASK_STARTUP_S = (7.0, 12.0)
CELERY_SLOTS = 4  # AIRFLOW__CORE__PARALLELISM of the production shape: sensors outside the pool share these


def dbt_tasks(mode: str):
    """The dbt step as a task group named `dbt`: `build` (the DAG's own: one task running `dbt build`),
    `per_node` (a Cosmos task per dbt node) or `watcher` (Cosmos watcher mode)."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    from orchestration.dbt_step import DBT_ENV, PROFILE, dbt_build

    if mode == "build":
        return dbt_build()
    watcher = mode == "watcher"
    if not watcher and mode != "per_node":
        raise ValueError(f"unknown dbt execution mode {mode!r} (build, per_node, watcher)")
    group = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json",
            install_dbt_deps=False,
            env_vars=DBT_ENV,
        ),
        profile_config=PROFILE,
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER if watcher else ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
            # Watcher: only the producer runs dbt; its per-node sensors stay out of the one-slot pool.
            setup_operator_args={"pool": WAREHOUSE_POOL} if watcher else None,
        ),
        # Watcher mode refuses TestBehavior.BUILD: tests become one sensor task per model.
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_EACH if watcher else TestBehavior.BUILD,
        ),
        operator_args={
            **({} if watcher else {"pool": WAREHOUSE_POOL}),
            # A test spanning two nodes runs in the task of the later one, once both exist.
            "dbt_cmd_flags": ["--indirect-selection", "buildable", *DBT_PRODUCTION_FLAGS],
        },
    )
    if watcher:
        # Sensors start once the producer's build is done: dag.test() runs one task at a time, so a
        # sensor started first would wait forever for a producer that never gets its turn.
        producer = group.children[f"{group.group_id}.dbt_producer_watcher"]
        for child in list(group.children.values()):
            if child is not producer and not child.upstream_list:
                producer >> child
    return group


def run_once(logical_date: str) -> dict:
    """In this process: parse the DAG file, run it with dag.test(), report timings from the metadata DB."""
    import cosmos  # noqa: F401 - imported before timing so the parse figure is the DAG file, not the libraries
    import pendulum
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.session import create_session

    started = time.perf_counter()
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    parse_s = time.perf_counter() - started
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags[os.environ["BENCH_DAG_ID"]]

    started = time.perf_counter()
    run = dag.test(logical_date=pendulum.parse(logical_date))
    run_s = time.perf_counter() - started

    from airflow.models.taskinstance import TaskInstance

    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id=dag.dag_id, run_id=run.run_id).all()
        dbt = [ti for ti in tis if ti.task_id.startswith("dbt.")]
        dbt_s = (max(ti.end_date for ti in dbt) - min(ti.start_date for ti in dbt)).total_seconds()
        states = {ti.task_id: str(ti.state) for ti in tis}
    pooled = [t for t in dag.tasks if t.task_id.startswith("dbt.") and t.pool == "send_warehouse"]
    return {
        "state": str(run.state),
        "parse_s": round(parse_s, 3),
        "run_s": round(run_s, 2),
        "dbt_s": round(dbt_s, 2),
        "tasks": len(dag.tasks),
        "dbt_tasks": len(dbt),
        "dbt_tasks_in_pool": len(pooled),
        "failed": sorted(t for t, s in states.items() if s != "success"),
    }


def _dags_folder(mode: str) -> Path:
    """A DAG folder whose one file builds the real send_pipeline with its dbt step in `mode`."""
    folder = WORK_DIR / "dags" / mode
    folder.mkdir(parents=True, exist_ok=True)
    dag_file = MODE_DAG.format(
        mode=mode, dag_id=f"send_pipeline_{mode}", dags=str(REPO_ROOT / "dags"), root=str(REPO_ROOT)
    )
    (folder / f"send_pipeline_{mode}.py").write_text(dag_file)
    return folder


def _environment(mode: str, run_dir: Path) -> dict[str, str]:
    env = {**os.environ, **local_environment(WORK_DIR)}
    data = run_dir / "data"
    return {
        **env,
        "AIRFLOW__CORE__DAGS_FOLDER": str(_dags_folder(mode)),
        "BENCH_DAG_ID": f"send_pipeline_{mode}",
        "SEND_TASK_RETRIES": "0",
        "SEND_DATA_DIR": str(data),
        "SEND_WAREHOUSE_BUILD_PATH": str(data / "warehouse" / "build.duckdb"),
        "SEND_ALERTS_PATH": str(data / "alerts.jsonl"),
    }


def _measure(mode: str, attempt: int) -> dict:
    run_dir = WORK_DIR / "runs" / f"{mode}-{attempt}"
    shutil.rmtree(run_dir, ignore_errors=True)
    env = _environment(mode, run_dir)
    logical_date = f"{AS_OF.isoformat()}T06:00:00+01:00"
    command = [sys.executable, "-m", "bench.cosmos_execution_modes", "--run-once", logical_date]
    started = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200)
    process_s = time.perf_counter() - started
    (run_dir / "run.log").parent.mkdir(parents=True, exist_ok=True)
    (run_dir / "run.log").write_text(result.stdout + result.stderr)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        sys.exit(f"{mode} run {attempt} failed (exit {result.returncode}); see {run_dir / 'run.log'}")
    figures = json.loads(lines[-1])
    if figures["state"] != "success":
        sys.exit(f"{mode} run {attempt} ended {figures['state']} ({figures['failed']}); see {run_dir / 'run.log'}")
    return {**figures, "process_s": round(process_s, 2)}


def _celery_estimate(figures: dict) -> tuple[float, float]:
    """Production-shape wall time of the dbt step, estimated, not measured: the measured dbt work plus
    worker start-up of every dbt task; pooled tasks queue one after another, sensors share the slots."""
    sensors = figures["dbt_tasks"] - figures["dbt_tasks_in_pool"]
    waves = figures["dbt_tasks_in_pool"] + -(-sensors // CELERY_SLOTS)
    return tuple(round(figures["dbt_s"] + waves * cost, 0) for cost in CELERY_TASK_STARTUP_S)


def make_snapshot() -> tuple[Path, str]:
    """The committed tree plus OVERLAY from the working tree, with its own dbt manifest."""
    shutil.rmtree(SNAPSHOT_DIR, ignore_errors=True)
    SNAPSHOT_DIR.mkdir(parents=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    archive = SNAPSHOT_DIR.with_suffix(".tar")
    subprocess.run(["git", "archive", "--output", str(archive), "HEAD"], cwd=REPO_ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(SNAPSHOT_DIR, filter="data")
    archive.unlink()
    for name in OVERLAY:
        (SNAPSHOT_DIR / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, SNAPSHOT_DIR / name)
    project = SNAPSHOT_DIR / "dbt_project"
    env = {**os.environ, "DBT_PROFILES_DIR": str(project), "SEND_WAREHOUSE_BUILD_PATH": str(SNAPSHOT_DIR / "p.duckdb")}
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run([str(dbt), "parse", "--quiet"], cwd=project, env=env, check=True)
    return SNAPSHOT_DIR, f"HEAD {commit.stdout.strip()} + working-tree {OVERLAY[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cosmos_execution_modes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--tree", action="store_true", help="measure the working tree, not a committed snapshot")
    parser.add_argument("--run-once", metavar="LOGICAL_DATE", help=argparse.SUPPRESS)
    parser.add_argument("--source", default="working tree", help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=OUTPUT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_once:
        print(json.dumps(run_once(args.run_once)))
        return
    if not args.tree:
        root, source = make_snapshot()
        command = [sys.executable, "-m", "bench.cosmos_execution_modes", "--tree", "--source", source]
        command += ["--repeats", str(args.repeats), "--modes", *args.modes, "--output", str(args.output)]
        sys.exit(subprocess.run(command, cwd=root).returncode)

    from synthetic.la_case_management import generate

    env = {**os.environ, **local_environment(WORK_DIR)}
    shutil.rmtree(WORK_DIR / "airflow", ignore_errors=True)
    source_url = json.loads(env["AIRFLOW_CONN_LA_CASE_MANAGEMENT"])["extra"]["sqlalchemy_url"]
    generate(source_url, scale="demo", seed=42, as_of=AS_OF)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    prepare(env, WORK_DIR / "prepare.log")

    runs: dict[str, list[dict]] = {mode: [] for mode in args.modes}
    for attempt in range(1, args.repeats + 1):
        for mode in args.modes:
            runs[mode].append(_measure(mode, attempt))
            print(f"  {mode} #{attempt}: {runs[mode][-1]}", flush=True)

    summary = {}
    for mode, measured in runs.items():
        medians = {
            key: statistics.median(r[key] for r in measured)
            for key in ("parse_s", "dbt_s", "run_s", "process_s")
            if measured
        }
        counts = {key: measured[0][key] for key in ("tasks", "dbt_tasks", "dbt_tasks_in_pool")}
        summary[mode] = {**medians, **counts, "celery_dbt_estimate_s": _celery_estimate({**medians, **counts})}

    header = (
        f"{'mode':<9} {'tasks':>5} {'dbt tasks':>9} {'parse s':>7} {'dbt s':>6} {'run s':>6} {'Celery dbt est.':>16}"
    )
    print(f"\nsend_pipeline ({args.source}) at demo scale, as of {AS_OF}, median of {args.repeats} (dag.test)")
    print(header)
    for mode, s in summary.items():
        low, high = s["celery_dbt_estimate_s"]
        print(
            f"{mode:<9} {s['tasks']:>5} {s['dbt_tasks']:>9} {s['parse_s']:>7.2f} {s['dbt_s']:>6.1f} "
            f"{s['run_s']:>6.1f} {f'{low:.0f}-{high:.0f} s':>16}"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "code": args.source,
                "as_of": AS_OF.isoformat(),
                "repeats": args.repeats,
                "cpu_count": os.cpu_count(),
                "celery_task_startup_s": CELERY_TASK_STARTUP_S,
                "summary": summary,
                "runs": runs,
            },
            indent=2,
        )
    )
    print(f"\nwritten {args.output}")


if __name__ == "__main__":
    main()
