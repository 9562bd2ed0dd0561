"""Airflow's production shape run natively: api-server, scheduler, dag-processor and a Celery worker as
separate processes on the machine's PostgreSQL and Redis. Used by test_production_shape.py."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import sqlalchemy as sa

AIRFLOW = str(Path(sys.executable).parent / "airflow")
REDIS_URL = os.environ.get("SEND_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")  # db 7: clear of the default 0


def redis_unreachable(url: str = REDIS_URL) -> str | None:
    """Why Redis cannot be used, or None when it answers PING."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as error:  # noqa: BLE001 - any failure means "no usable broker here"
        return f"Redis not reachable at {url}: {type(error).__name__}: {error}"
    return None


def forget_queue(queue: str, url: str = REDIS_URL) -> None:
    """Delete the broker's keys for a test queue (the queue list and kombu's binding set)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    keys = list(client.scan_iter(match=f"*{queue}*"))
    if keys:
        client.delete(*keys)
    client.close()


def celery_executor_unusable() -> str | None:
    """Why the Celery executor cannot even be imported in this environment, or None. Asked of a fresh
    interpreter: the import pulls in Airflow's configuration, which must not happen in the test process."""
    code = "import airflow.providers.celery.executors.celery_executor_utils"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if result.returncode == 0:
        return None
    from importlib.metadata import version

    error = (result.stderr.strip().splitlines() or ["?"])[-1]
    pins = ", ".join(f"{p} {version(p)}" for p in ("celery", "apache-airflow-providers-celery"))
    return f"CeleryExecutor unusable ({pins}): {error}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_overrides(metadata_url: str, queue: str, api_port: int, broker_url: str = REDIS_URL) -> dict[str, str]:
    """The settings that turn the embedded defaults into the production shape (CeleryExecutor on
    PostgreSQL + Redis); the same names docker-compose.yml sets."""
    from cryptography.fernet import Fernet

    backend_url = sa.make_url(metadata_url).set(drivername="postgresql")  # Celery's own SQLAlchemy URL
    result_backend = "db+" + backend_url.render_as_string(hide_password=False)
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        # Tasks go to this queue only, so a parallel run on the same Redis never takes them.
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        # Workers run tasks through the api-server's execution API, authenticated by JWTs the
        # scheduler signs: every component needs the same URL and secrets.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),  # default 8793 may be taken
    }


@dataclass
class NativeAirflow:
    env: dict[str, str]
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _engine: sa.Engine | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.env['AIRFLOW__API__PORT']}"

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], pool_pre_ping=True)
        return self._engine

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, name: str, *args: str) -> subprocess.Popen:
        """Start `airflow <args>` in its own session, appending to <log_dir>/<name>.log."""
        with self.log_path(name).open("a") as log:
            log.write(f"\n$ airflow {' '.join(args)}\n")
            log.flush()
            process = subprocess.Popen(
                [AIRFLOW, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes[name] = process
        return process

    def kill(self, name: str) -> None:
        """SIGKILL a component and every process under it at once, as a crashed host or container would."""
        self._stop([name], signal.SIGKILL, grace=5)

    def stop_all(self) -> None:
        self._stop(list(self.processes), signal.SIGTERM, grace=20)
        if self._engine is not None:
            self._engine.dispose()

    def _stop(self, names: list[str], sig: int, grace: float) -> None:
        """Signal the components (SIGTERM: their main processes only, which stop their own children, the
        Celery worker warmly), then SIGKILL whatever of their trees outlives `grace`. The trees are taken
        first: task runners put themselves in their own process groups, so killing groups could orphan them."""
        popens = [self.processes.pop(name) for name in names]
        roots, trees = [], []
        for popen in popens:
            try:
                root = psutil.Process(popen.pid)
                roots.append(root)
                trees += [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        for proc in trees if sig == signal.SIGKILL else roots:
            try:
                proc.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(trees, timeout=grace)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)
        for popen in popens:
            popen.wait(timeout=5)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"airflow {name} exited with {process.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.log_path(name)
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def cli(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run([AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result.stdout

    def wait_healthy(self, timeout: float = 120) -> dict:
        """Until /api/v2/monitor/health reports the metadata DB, scheduler and dag-processor healthy."""
        deadline = time.monotonic() + timeout
        health: dict = {}
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"{self.api_url}/api/v2/monitor/health", timeout=5) as response:
                    health = json.load(response)
            except OSError:
                health = {}
            parts = ("metadatabase", "scheduler", "dag_processor")
            if health and all((health.get(p) or {}).get("status") == "healthy" for p in parts):
                return health
            time.sleep(1)
        raise AssertionError(f"Airflow not healthy after {timeout}s: {health}\n{self.tail('api-server')}")

    def wait_dag_parsed(self, dag_id: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            with self.engine.connect() as conn:
                parsed = conn.execute(
                    sa.text("select count(*) from serialized_dag where dag_id = :d"), {"d": dag_id}
                ).scalar()
                errors = conn.execute(sa.text("select filename, stacktrace from import_error")).fetchall()
            if errors:
                raise AssertionError(f"DAG import errors: {errors}")
            if parsed:
                return
            time.sleep(1)
        raise AssertionError(f"{dag_id} not parsed after {timeout}s:\n{self.tail('dag-processor')}")

    def trigger(self, dag_id: str, logical_date: str, run_id: str) -> None:
        self.cli("dags", "trigger", dag_id, "--logical-date", logical_date, "--run-id", run_id)

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.text("select state from dag_run where dag_id = :d and run_id = :r"), {"d": dag_id, "r": run_id}
            ).scalar()

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "select task_id, state, try_number, queue, hostname, executor, external_executor_id "
                    "from task_instance where dag_id = :d and run_id = :r order by start_date nulls last, task_id"
                ),
                {"d": dag_id, "r": run_id},
            )
            return [dict(row._mapping) for row in rows]

    def wait_run(self, dag_id: str, run_id: str, timeout: float, until=None) -> str:
        """Poll until the run finishes (or `until(task_instances)` is true); return the run state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            state = self.run_state(dag_id, run_id)
            if state in ("success", "failed"):
                return state
            if until is not None and until(self.task_instances(dag_id, run_id)):
                return state
            time.sleep(1)
        raise AssertionError(f"run {run_id} still {state!r} after {timeout}s: {self.describe(dag_id, run_id)}")

    def describe(self, dag_id: str, run_id: str) -> str:
        """Task states, the failed tasks' logs and the components' log tails, for a failure message."""
        tis = self.task_instances(dag_id, run_id)
        text = ["task instances:", *(f"  {ti}" for ti in tis)]
        logs = Path(self.env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"]) / f"dag_id={dag_id}" / f"run_id={run_id}"
        for ti in tis:
            if ti["state"] in ("failed", "up_for_retry", "upstream_failed"):
                for log in sorted(logs.glob(f"task_id={ti['task_id']}/**/*.log")):
                    text += [f"--- {log}", log.read_text(errors="replace")[-3000:]]
        for name in ("scheduler", "worker", "dag-processor", "api-server"):
            text += [f"--- {name} log tail", self.tail(name, 25)]
        return "\n".join(text)
