"""The production shape read as files: docker-compose.yml, docker/Dockerfile, .env.example, .dockerignore.

No Docker engine is needed (nor used if the CLI exists): the files are parsed and checked against each
other and against what the platform reads, so a drift shows here before anyone runs `docker compose up`.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
import json
import posixpath
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from types import ModuleType, SimpleNamespace
from urllib.parse import urlsplit

import pytest
import yaml

from orchestration.settings import REPO_ROOT, WAREHOUSE_POOL

COMPOSE_PATH = REPO_ROOT / "docker-compose.yml"
DOCKERFILE_PATH = REPO_ROOT / "docker" / "Dockerfile"
ENV_EXAMPLE_PATH = REPO_ROOT / ".env.example"
DOCKERIGNORE_PATH = REPO_ROOT / ".dockerignore"

# Service -> the command it must run (None: a one-off script, checked on its own).
AIRFLOW_SERVICES = {
    "airflow-init": None,
    "airflow-apiserver": ["airflow", "api-server"],
    "airflow-scheduler": ["airflow", "scheduler"],
    "airflow-dag-processor": ["airflow", "dag-processor"],
    "airflow-triggerer": ["airflow", "triggerer"],
    "airflow-worker": ["airflow", "celery", "worker"],
}
LONG_RUNNING = [name for name in AIRFLOW_SERVICES if name != "airflow-init"]
INFRA_IMAGES = {"postgres": "postgres:", "reporting-db": "postgres:", "redis": "redis:"}
SHARED_SECRETS = ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|TOKEN|_AUTH$")
SECRET_LOCATION = ("_FILE", "_PATH", "_DIR")  # where a secret is kept, not the secret
# ${NAME...} but not $${...}, which compose passes to the container's shell.
REFERENCE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")
URL_PASSWORD = re.compile(r"://[^/\s:@]*:([^@\s]*)@")
ENV_LINE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")
CODE_DIRS = ("dags", "dbt_project", "soda_checks")  # read at run time besides the Python packages


# --- loading -----------------------------------------------------------------------------------------


def parse_env_example(text: str) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(active NAME=value, commented-out "# NAME=value", names lacking a comment line above)."""
    active: dict[str, str] = {}
    commented: dict[str, str] = {}
    undocumented: list[str] = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = ENV_LINE.match(line.strip())
        if not match:
            continue
        value = match[3]
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        (commented if match[1] else active)[match[2]] = value
        above = lines[number - 1].strip() if number else ""
        if not above.startswith("#") or ENV_LINE.match(above):
            undocumented.append(match[2])
    return active, commented, undocumented


def dockerfile_stages(text: str) -> list[list[tuple[str, str]]]:
    """Instructions per build stage as (KEYWORD, arguments), continuation lines joined."""
    stages: list[list[tuple[str, str]]] = [[]]  # stage 0: ARGs before the first FROM
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append((keyword.upper(), arguments.strip()))
    return stages


def assignments(instructions: list[tuple[str, str]], keyword: str) -> dict[str, str]:
    found = {}
    for kw, arguments in instructions:
        if kw == keyword:
            for token in shlex.split(arguments):
                name, _, value = token.partition("=")
                found[name] = value
    return found


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_PATH.read_text()


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    return yaml.safe_load(compose_text)  # resolves the <<: *airflow-common merges


@pytest.fixture(scope="module")
def env_example() -> tuple[dict[str, str], dict[str, str], list[str]]:
    return parse_env_example(ENV_EXAMPLE_PATH.read_text())


@pytest.fixture(scope="module")
def stages() -> list[list[tuple[str, str]]]:
    return dockerfile_stages(DOCKERFILE_PATH.read_text())


def common_env(compose: dict) -> dict[str, str]:
    return compose["x-airflow-common"]["environment"]


def mounts(service: dict) -> dict[str, str]:
    """Container path -> volume name (or host path)."""
    found = {}
    for entry in service.get("volumes", []):
        source, target = entry.split(":")[:2] if isinstance(entry, str) else (entry["source"], entry["target"])
        found[target] = source
    return found


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not name.endswith(SECRET_LOCATION)


def url_passwords(text: str) -> list[str]:
    """Passwords in URLs, each ${...} reference replaced by <ref> (their messages may hold spaces)."""
    return URL_PASSWORD.findall(REFERENCE.sub("<ref>", text))


def host(url: str) -> str:
    return urlsplit(REFERENCE.sub("x", url)).hostname or ""


def is_under(path: str, folder: str) -> bool:
    return posixpath.commonpath([path, folder]) == folder


# --- docker-compose.yml ------------------------------------------------------------------------------


def test_required_services_run_the_right_commands(compose):
    services = compose["services"]
    for name, command in AIRFLOW_SERVICES.items():
        assert name in services, f"docker-compose.yml has no {name} service"
        if command is not None:
            assert services[name].get("command") == command, f"{name} must run `{' '.join(command)}`"
    for name, image in INFRA_IMAGES.items():
        assert name in services, f"docker-compose.yml has no {name} service"
        assert str(services[name].get("image", "")).startswith(image), f"{name} must run an official {image} image"


def test_airflow_init_migrates_and_creates_the_warehouse_pool(compose):
    script = " ".join(compose["services"]["airflow-init"]["command"])
    assert "airflow db migrate" in script, "airflow-init must migrate the metadata DB"
    assert re.search(rf"airflow pools set {WAREHOUSE_POOL} 1\b", script), (
        f"airflow-init must create pool {WAREHOUSE_POOL} with one slot (one writer of the build warehouse)"
    )
    assert compose["services"]["airflow-init"].get("restart", "no") == "no", "airflow-init runs once"


def test_every_airflow_service_uses_the_common_block(compose):
    common = compose["x-airflow-common"]
    build = common.get("build", {})
    assert build.get("dockerfile") == "docker/Dockerfile", "the common block must build docker/Dockerfile"
    assert (COMPOSE_PATH.parent / build.get("context", "") / build["dockerfile"]).is_file()
    assert ".env" in common.get("env_file", []), "the common block must read secrets from .env"
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        for key in ("build", "image", "env_file", "user"):
            assert service.get(key) == common.get(key), f"{name} does not take `{key}` from x-airflow-common"
        env = service.get("environment", {})
        for variable, value in common["environment"].items():
            assert env.get(variable) == value, f"{name} overrides or drops {variable} of the common environment"


def test_every_airflow_service_shares_jwt_secret_and_fernet_key(compose):
    for variable in SHARED_SECRETS:
        values = {name: compose["services"][name].get("environment", {}).get(variable) for name in AIRFLOW_SERVICES}
        assert len(set(values.values())) == 1, f"{variable} differs between Airflow services: {values}"
        value = next(iter(values.values()))
        assert value and REFERENCE.fullmatch(value), f"{variable} must be a ${{...}} reference to .env, got {value!r}"


def test_celery_executor_with_redis_broker_and_postgres_metadata(compose):
    env = common_env(compose)
    services = compose["services"]
    assert env.get("AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor", "the production shape runs Celery workers"
    broker = env.get("AIRFLOW__CELERY__BROKER_URL", "")
    assert broker.startswith("redis://") and host(broker) == "redis", f"broker must be the redis service: {broker}"
    postgres = services["postgres"]["environment"]
    for variable in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
        url = env.get(variable, "")
        assert host(url) == "postgres", f"{variable} must point at the postgres service: {url}"
        assert urlsplit(REFERENCE.sub("x", url)).username == postgres["POSTGRES_USER"], variable
        assert url.rsplit("/", 1)[-1] == postgres["POSTGRES_DB"], variable
        assert postgres["POSTGRES_PASSWORD"] in url, f"{variable} must use the postgres service's password variable"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql"), "result backend must be PostgreSQL"
    # The broker password is the one redis is started with.
    assert url_passwords(broker) == ["<ref>"], f"the broker URL needs the redis password reference: {broker}"
    assert REFERENCE.search(broker)[0] in services["redis"].get("command", []), "redis must require that password"


def test_workers_reach_the_execution_api_on_the_api_server(compose):
    url = urlsplit(common_env(compose).get("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", ""))
    assert url.hostname == "airflow-apiserver", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL must name airflow-apiserver"
    assert url.path.rstrip("/") == "/execution", f"the execution API is served at /execution/, not {url.path}"
    container_ports = {str(p).rsplit(":", 1)[-1] for p in compose["services"]["airflow-apiserver"].get("ports", [])}
    assert str(url.port) in container_ports, f"the api-server listens on {container_ports}, not {url.port}"


def test_healthchecks(compose):
    services = compose["services"]
    for name in [*INFRA_IMAGES, *LONG_RUNNING]:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    expected = {
        "postgres": "pg_isready",
        "reporting-db": "pg_isready",
        "redis": "redis-cli ping",
        "airflow-apiserver": "localhost:8080/api/v2/monitor/health",
        "airflow-scheduler": "localhost:8974/health",
        "airflow-worker": "inspect ping",
    }
    for name, probe in expected.items():
        test = " ".join(services[name]["healthcheck"]["test"])
        assert probe in test, f"{name} healthcheck should probe `{probe}`: {test}"
    assert common_env(compose).get("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK") == "True", "scheduler :8974 is off"


def test_depends_on_waits_for_healthy_dependencies(compose):
    services = compose["services"]
    wanted = {name: {"postgres": "service_healthy", "redis": "service_healthy"} for name in AIRFLOW_SERVICES}
    for name in LONG_RUNNING:
        wanted[name]["airflow-init"] = "service_completed_successfully"
    wanted["airflow-worker"]["airflow-apiserver"] = "service_healthy"  # tasks run through its execution API
    for name, conditions in wanted.items():
        depends_on = services[name].get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on needs the long form with conditions"
        for dependency, condition in conditions.items():
            got = depends_on.get(dependency, {}).get("condition")
            assert got == condition, f"{name} must wait for {dependency} ({condition}), has {got}"
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            if spec.get("condition") == "service_healthy":
                assert services[dependency].get("healthcheck"), f"{name} waits for {dependency}, which has no check"


def test_data_volumes_are_shared_where_tasks_run(compose):
    env = common_env(compose)
    services = compose["services"]
    declared = set(compose.get("volumes", {}))
    data_dir = env.get("SEND_DATA_DIR", "")
    worker = mounts(services["airflow-worker"])
    assert data_dir.startswith("/") and worker.get(data_dir) in declared, (
        f"airflow-worker must mount a named volume at SEND_DATA_DIR ({data_dir!r}); mounts: {worker}"
    )
    # Every path a task writes must be on a worker volume: extract, load and publish may run on different workers.
    for variable, value in env.items():
        if variable.startswith("SEND_") and value.startswith("/"):
            assert any(is_under(value, target) for target in worker), f"{variable}={value} is on no worker volume"
    for variable in ("SEND_WAREHOUSE_BUILD_PATH", "SEND_ALERTS_PATH"):
        assert is_under(env[variable], data_dir), f"{variable} must live in SEND_DATA_DIR"
    published = posixpath.dirname(env["SEND_WAREHOUSE_PUBLISHED_PATH"])
    assert worker.get(published) not in (None, worker[data_dir]), (
        "the published file needs its own volume, so BI readers can mount it without the landing data"
    )
    # Failure callbacks of tasks that died run in the dag-processor; the notifier writes SEND_ALERTS_PATH.
    assert mounts(services["airflow-dag-processor"]).get(data_dir) == worker[data_dir], (
        "airflow-dag-processor must mount the workers' data volume: it runs failure callbacks that write alerts"
    )
    for name in AIRFLOW_SERVICES:
        for target, source in mounts(services[name]).items():
            assert target != "/opt/send" and not target.startswith("/opt/send/"), (
                f"{name} mounts {source} over the baked code/manifest at {target}"
            )
        assert "/opt/airflow/logs" in mounts(services[name]), f"{name} must share the logs volume"
    for name, service in services.items():
        for target, source in mounts(service).items():
            assert source in declared, f"{name} mounts {source!r} at {target}: not a declared named volume"


def test_image_paths_agree_with_compose(compose, stages):
    image_env = assignments(stages[-1], "ENV")
    for variable, value in common_env(compose).items():
        if variable in image_env:
            assert image_env[variable] == value, f"{variable}: Dockerfile says {image_env[variable]}, compose {value}"
    assert common_env(compose)["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/send/dags", "DAGs are baked at /opt/send/dags"


def test_every_compose_variable_is_documented(compose_text, env_example):
    active, commented, _ = env_example
    for name, modifier in REFERENCE.findall(compose_text):
        assert name in active or name in commented, f"docker-compose.yml reads ${{{name}}}, not in .env.example"
        if not modifier.startswith((":-", "-")):
            assert name in active, f"${{{name}}} has no default, so .env.example must set it (not commented out)"


def test_no_literal_secrets_in_compose(compose):
    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and is_secret_name(str(key)):
                    assert REFERENCE.fullmatch(value), f"{where}.{key} holds a literal secret; use ${{VAR}} from .env"
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str) and index and re.search(r"pass", str(node[index - 1]), re.I):
                    assert REFERENCE.fullmatch(item), f"{where}[{index}] passes a literal secret"
                walk(item, f"{where}[{index}]")
        elif isinstance(node, str):
            for password in url_passwords(node):
                assert password in ("", "<ref>"), f"{where} has a literal password in a URL"

    walk(compose, "compose")


# --- .env.example ------------------------------------------------------------------------------------


def test_env_example_documents_each_variable_and_holds_only_placeholders(env_example):
    active, commented, undocumented = env_example
    assert not undocumented, f".env.example variables without a comment line above: {undocumented}"
    for name, value in {**commented, **active}.items():
        if is_secret_name(name):
            assert "change-me" in value, f"{name} in .env.example must be a change-me placeholder"
        if name.startswith("AIRFLOW_CONN_"):
            connection = json.loads(value)  # JSON form: quotes kept literal by the single quotes
            if "password" in connection:
                assert "change-me" in connection["password"], f"{name} password must be a placeholder"


def test_platform_variables_reach_production(compose, env_example, stages, tmp_path):
    from devtools.environment import local_environment

    active, commented, _ = env_example
    production = {**assignments(stages[-1], "ENV"), **common_env(compose), **active}
    missing = sorted(set(local_environment(tmp_path)) - set(production))
    assert not missing, f"set locally but by neither Dockerfile, compose nor .env.example: {missing}"
    # Every SEND_* variable the code reads is at least documented.
    sources = [*REPO_ROOT.glob("dags/*.py"), REPO_ROOT / "dbt_project" / "profiles.yml"]
    for package in ("orchestration", "ingestion", "warehouse"):
        sources += (REPO_ROOT / package).rglob("*.py")
    read = {name for path in sources for name in re.findall(r"\bSEND_[A-Z0-9_]+\b", path.read_text())}
    undocumented = sorted(read - set(active) - set(commented) - set(common_env(compose)))
    assert not undocumented, f"read by the code but not in .env.example: {undocumented}"


def conn_ids_in_code() -> set[str]:
    """Values assigned to *CONN_ID names in the code (NAME = "id" and A, B = "a", "b")."""
    found = set()
    for package in ("orchestration", "ingestion", "warehouse", "dags"):
        for path in (REPO_ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Assign):
                    continue
                for target in node.targets:
                    if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        pairs = list(zip(target.elts, node.value.elts, strict=True))
                    else:
                        pairs = [(target, node.value)]
                    for name, value in pairs:
                        if isinstance(name, ast.Name) and name.id.endswith("CONN_ID"):
                            found |= {value.value} if isinstance(value, ast.Constant) else set()
    return found


def test_every_connection_the_code_uses_is_documented(env_example):
    active, commented, _ = env_example
    conn_ids = conn_ids_in_code()
    assert "la_case_management" in conn_ids, "no *CONN_ID found in the code: the scan is broken"
    missing = sorted(i for i in conn_ids if f"AIRFLOW_CONN_{i.upper()}" not in {**active, **commented})
    assert not missing, f"connections the code reads but .env.example does not document: {missing}"


def test_connections_in_env_example_build_the_urls_the_platform_uses(compose, env_example):
    from orchestration.connections import sqlalchemy_url

    active, _, _ = env_example
    for name in ("AIRFLOW_CONN_LA_CASE_MANAGEMENT", "AIRFLOW_CONN_SEND_REPORTING"):
        assert name in active, f".env.example must set {name}"
        fields = json.loads(active[name])
        conn = SimpleNamespace(
            conn_type=fields["conn_type"],
            login=fields.get("login"),
            password=fields.get("password"),
            host=fields.get("host"),
            port=fields.get("port"),
            schema=fields.get("schema"),
            extra_dejson=fields.get("extra", {}),
        )
        url = sqlalchemy_url(conn)
        assert url.startswith("postgresql+psycopg2://"), f"{name} should be a PostgreSQL connection: {url}"
        assert "area_code" not in url, f"{name}: area_code must stay out of the driver options"
    assert json.loads(active["AIRFLOW_CONN_LA_CASE_MANAGEMENT"])["extra"].get("area_code"), "LA needs area_code"
    reporting = json.loads(active["AIRFLOW_CONN_SEND_REPORTING"])
    db = compose["services"]["reporting-db"]["environment"]
    assert reporting["host"] == "reporting-db", "AIRFLOW_CONN_SEND_REPORTING should default to the compose service"
    assert (reporting["login"], reporting["schema"]) == (db["POSTGRES_USER"], db["POSTGRES_DB"]), (
        "AIRFLOW_CONN_SEND_REPORTING login/schema must match the reporting-db user and database"
    )
    password_variable = REFERENCE.fullmatch(db["POSTGRES_PASSWORD"])[1]
    assert reporting["password"] == active[password_variable], f"connection password differs from {password_variable}"


def test_the_reporting_db_makes_the_read_only_bi_role_on_its_first_start(compose):
    from warehouse.publish import Targets

    service = compose["services"]["reporting-db"]
    configs = compose.get("configs", {})
    mounted = {entry["target"]: configs[entry["source"]]["file"] for entry in service.get("configs", [])}
    for target, source in mounted.items():
        assert (COMPOSE_PATH.parent / source).is_file(), f"reporting-db mounts {source} at {target}: no such file"
    init = [target for target in mounted if posixpath.dirname(target) == "/docker-entrypoint-initdb.d"]
    assert init, "reporting-db must run an init script that makes the BI read-only role (docker/reporting-db/)"
    script = (COMPOSE_PATH.parent / mounted[init[0]]).read_text()
    read = re.findall(r"-f\s+(\S+)", script)
    assert read and all(path in mounted for path in read), f"the init script reads {read}, not all mounted"
    sql = (COMPOSE_PATH.parent / mounted[read[0]]).read_text()
    # The schema it grants on is the one publication fills.
    assert re.search(rf"\\set schema {Targets(Path()).postgres_schema}\b", sql), "init SQL and publication differ"
    environment = service["environment"]
    assert REFERENCE.fullmatch(environment.get("SEND_BI_PASSWORD", "")), "the BI login's password comes from .env"


def test_env_file_stays_out_of_git_and_the_image():
    def ignored(path: str) -> int:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO_ROOT).returncode

    status = ignored(".env")
    if status == 128:
        pytest.skip("not a git checkout")
    assert status == 0, ".env must be git-ignored"
    assert ignored(".env.example") == 1, ".env.example must be committed, not ignored"
    patterns = DOCKERIGNORE_PATH.read_text().splitlines()
    assert ".env" in patterns, ".dockerignore must keep .env out of the build context"


# --- docker/Dockerfile -------------------------------------------------------------------------------


def test_dockerfile_base_image_and_pinned_uv(stages):
    defaults = assignments(stages[0], "ARG")
    bases = [
        REFERENCE.sub(lambda m: defaults.get(m[1], ""), args.split()[0]) for kw, args in sum(stages, []) if kw == "FROM"
    ]
    assert bases and all(base == "python:3.11-slim-bookworm" for base in bases), f"base images: {bases}"
    text = DOCKERFILE_PATH.read_text()
    make_uv = re.search(r"^UV_VERSION := (\S+)", (REPO_ROOT / "Makefile").read_text(), re.M)[1]
    uv_version = assignments(sum(stages, []), "ARG").get("UV_VERSION")
    assert uv_version == make_uv, f"Dockerfile uv {uv_version} differs from the Makefile's {make_uv}"
    assert re.search(r"pip install \S*uv==\$\{UV_VERSION\}", text), "uv must be installed at the pinned version"


def test_dockerfile_installs_from_the_lock(stages):
    build = sum(stages, [])
    copy_lock = next((i for i, (kw, args) in enumerate(build) if kw == "COPY" and "uv.lock" in args.split()), None)
    assert copy_lock is not None, "the image must copy uv.lock and install from it"
    assert "pyproject.toml" in build[copy_lock][1].split(), "copy pyproject.toml with uv.lock"
    syncs = [(i, args) for i, (kw, args) in enumerate(build) if kw == "RUN" and "uv sync" in args]
    assert syncs, "the Dockerfile never runs uv sync"
    for index, args in syncs:
        assert index > copy_lock, "uv sync runs before uv.lock is copied"
        assert "--frozen" in args and "--no-dev" in args, f"uv sync must use the lock as is, without dev tools: {args}"
    assert any("--no-install-project" not in args for _, args in syncs), "the project itself is never installed"


def test_dockerfile_builds_the_dbt_manifest(stages):
    build = sum(stages, [])
    parse = next((i for i, (kw, args) in enumerate(build) if kw == "RUN" and "dbt parse" in args), None)
    assert parse is not None, "the image must run `dbt parse` so Cosmos renders from the manifest"
    args = build[parse][1]
    assert "DBT_PROFILES_DIR=/opt/send/dbt_project" in args and "SEND_WAREHOUSE_BUILD_PATH=" in args, (
        "dbt parse renders profiles.yml: DBT_PROFILES_DIR and SEND_WAREHOUSE_BUILD_PATH must be set"
    )
    copied = [i for i, (kw, a) in enumerate(build) if kw == "COPY" and a.split()[0].rstrip("/") == "dbt_project"]
    assert copied and copied[0] < parse, "dbt parse runs before dbt_project/ is copied"


def test_dockerfile_runtime_stage(compose, stages):
    final = stages[-1]
    env = assignments(final, "ENV")
    assert env.get("DO_NOT_TRACK") == "1" and env.get("SODA_CORE_TELEMETRY_ENABLED") == "false", "telemetry is on"
    assert env.get("AIRFLOW_HOME"), "AIRFLOW_HOME is not set"
    assert env.get("DBT_PROFILES_DIR") == "/opt/send/dbt_project", "dbt must find the baked profiles.yml"
    assert env.get("PATH", "").startswith("/opt/send/.venv/bin:"), "the venv must come first on PATH"
    users = [args for kw, args in final if kw == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0"), "the image must run as a non-root user"
    assert compose["x-airflow-common"]["user"].split(":")[0] == users[-1], "compose and image disagree on the uid"
    for kw in ("ENV", "ARG"):
        secrets = [name for name in assignments(sum(stages, []), kw) if is_secret_name(name)]
        assert not secrets, f"secrets must not be baked into the image: {kw} {secrets}"


def test_dockerfile_copies_all_code_and_nothing_ignored(stages):
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    copies = [args.split() for kw, args in sum(stages, []) if kw == "COPY" and not args.startswith("--from")]
    sources = {token.rstrip("/") for args in copies for token in args[:-1] if not token.startswith("--")}
    missing = sorted((set(packages) | set(CODE_DIRS)) - sources)
    assert not missing, f"the image does not copy {missing}"
    ignore = [p.strip() for p in DOCKERIGNORE_PATH.read_text().splitlines() if p.strip() and not p.startswith("#")]
    for source in sources:
        assert (REPO_ROOT / source).exists(), f"COPY {source}: no such path in the repository"
        hits = [p for p in ignore if fnmatch.fnmatch(source, p.rstrip("/"))]
        assert not hits, f"COPY {source} is excluded from the build context by .dockerignore {hits}"


# --- what the code reads from the repository at run time ---------------------------------------------

RUNTIME_CODE = ("dags", "orchestration", "ingestion", "warehouse", "synthetic")  # what the image runs
# Made inside the image by a RUN step, so .dockerignore may keep the checkout's copy out of the context.
GENERATED_IN_IMAGE = {"dbt_project/target": "dbt parse (test_dockerfile_builds_the_dbt_manifest)"}


class _PathReader:
    """Finds the repository paths a module names: module-level Path values, and every expression built
    from them, from `Path(__file__)` or from REPO_ROOT-like constants with `/`, `.parent` or `.parents[n]`
    (module level, function bodies and argument defaults alike). An expression whose path cannot be told
    (`os.path.join(REPO_ROOT, name)`, `os.path.dirname(__file__)`) is reported as the root it starts from,
    so it fails the test instead of being missed."""

    def __init__(self, module, source: Path):
        self.module, self.source = module, source
        self.found: dict[Path, str] = {}

    def scan(self) -> dict[Path, str]:
        tree = ast.parse(self.source.read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.expr):
                value = self.evaluate(node.value)
                if value == REPO_ROOT:  # defines the root (REPO_ROOT = Path(__file__)...): uses are checked
                    continue
            self.visit(node)
        for name, value in vars(self.module).items():
            if isinstance(value, Path) and value.is_relative_to(REPO_ROOT) and value != REPO_ROOT:
                self.found.setdefault(value, f"{self.module.__name__}.{name}")
        return self.found

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.expr):
            value = self.evaluate(node)
            if isinstance(value, Path) and value.is_relative_to(REPO_ROOT):
                self.found.setdefault(value, f"{self.source.relative_to(REPO_ROOT)}:{node.lineno}")
                return
            if isinstance(node, ast.Name) and node.id == "__file__":  # used in a way evaluate cannot follow
                self.found.setdefault(REPO_ROOT, f"{self.source.relative_to(REPO_ROOT)}:{node.lineno} (__file__)")
                return
        for child in ast.iter_child_nodes(node):
            self.visit(child)

    def evaluate(self, node: ast.expr):
        """The value of a path-building expression, or None when it is anything else."""
        match node:
            case ast.Constant(value=str() as text):
                return text
            case ast.Name(id="__file__"):
                return None  # only meaningful inside Path(...)
            case ast.Name(id=name):
                value = vars(self.module).get(name)
                return value if isinstance(value, Path | ModuleType) or value is Path else None
            case ast.Attribute(value=base, attr=attr):
                owner = self.evaluate(base)
                if isinstance(owner, ModuleType):  # module.CONSTANT
                    value = getattr(owner, attr, None)
                    return value if isinstance(value, Path) or value is Path else None
                if isinstance(owner, Path) and attr in ("parent", "parents"):
                    return getattr(owner, attr)
                return None
            case ast.Subscript(value=base, slice=ast.Constant(value=int() as index)):
                owner = self.evaluate(base)
                return owner[index] if type(owner).__name__ == "_PathParents" else None
            case ast.Call(func=func, args=[ast.Name(id="__file__")]) if self.evaluate(func) is Path:
                return Path(self.module.__file__)
            case ast.Call(func=func, args=args) if self.evaluate(func) is Path:
                parts = [self.evaluate(a) for a in args]
                return Path(*parts) if parts and all(isinstance(p, str | Path) for p in parts) else None
            case ast.Call(func=ast.Attribute(value=base, attr="resolve" | "absolute"), args=[]):
                owner = self.evaluate(base)
                return owner.resolve() if isinstance(owner, Path) else None
            case ast.BinOp(left=left, op=ast.Div(), right=right):
                folder = self.evaluate(left)
                if not isinstance(folder, Path):
                    return None
                part = self.evaluate(right)
                return folder / part if isinstance(part, str) else folder  # a computed name: its folder
        return None


def _runtime_modules():
    """(module, source file) for every module of the code the image runs, imported as at run time."""
    import importlib.util
    import pkgutil

    for package in RUNTIME_CODE:
        if package == "dags":
            for path in sorted((REPO_ROOT / "dags").glob("*.py")):
                spec = importlib.util.spec_from_file_location(f"_runtime_paths_{path.stem}", path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                yield module, path
            continue
        root = importlib.import_module(package)
        yield root, Path(root.__file__)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if info.name.endswith(".__main__"):
                continue
            module = importlib.import_module(info.name)
            yield module, Path(module.__file__)


def production_env(compose: dict, stages) -> dict[str, str]:
    """The environment a task runs with: the image's ENV, then the compose common block."""
    return {**assignments(stages[-1], "ENV"), **common_env(compose)}


def runtime_repo_paths(env: dict[str, str]) -> dict[str, str]:
    """Repository-relative path -> where the code names it, for everything read from the checkout at run time."""
    from orchestration.settings import Settings

    found: dict[Path, str] = {}
    for module, source in _runtime_modules():
        for path, where in _PathReader(module, source).scan().items():
            found.setdefault(path, where)
    # Settings: what production leaves at its default inside the repository (the rest is on volumes).
    for field, value in vars(Settings.from_env(env)).items():
        if isinstance(value, Path) and value.is_relative_to(REPO_ROOT):
            found.setdefault(value, f"Settings.{field} with the production environment")
    local = REPO_ROOT / ".local"
    leaks = {str(p.relative_to(REPO_ROOT)): w for p, w in found.items() if p.is_relative_to(local)}
    # .local/ holds the embedded defaults of a checkout: only Settings may name it, and production overrides it.
    assert all(w.startswith("orchestration/settings.py:") for w in leaks.values()), f"code reads .local/: {leaks}"
    return {str(p.relative_to(REPO_ROOT)): w for p, w in found.items() if not p.is_relative_to(local)}


def image_copies(stages) -> tuple[dict[str, str], str]:
    """(repository path -> where the build stage's COPY puts it, the code root REPO_ROOT becomes)."""
    build = next(stage for stage in stages if any(kw == "COPY" and "uv.lock" in a for kw, a in stage))
    code_root = next(args for kw, args in build if kw == "WORKDIR")
    final_copies = [args.split() for kw, args in stages[-1] if kw == "COPY" and args.startswith("--from")]
    assert any(args[-2:] == [code_root, code_root] for args in final_copies), (
        f"the runtime stage must copy the build stage's {code_root} to the same path (REPO_ROOT in the container)"
    )
    copied = {}
    for kw, args in build:
        tokens = [t for t in args.split() if not t.startswith("--")] if kw == "COPY" else []
        for source in tokens[:-1]:
            dest = posixpath.normpath(posixpath.join(code_root, tokens[-1]))
            if (REPO_ROOT / source).is_file() and tokens[-1].endswith("/"):
                dest = posixpath.join(dest, posixpath.basename(source))
            copied[posixpath.normpath(source)] = dest
    return copied, code_root


def test_the_image_has_every_repository_path_the_code_reads(compose, stages):
    read = runtime_repo_paths(production_env(compose, stages))
    # The scan sees what we know is read; if it stops seeing these, it is the scan that broke.
    # (each feed's contract is read from its package: ingestion/<feed>/contract.yml, under "ingestion").
    for known in ("governance/ig_register.yml", "ingestion", "dbt_project/seeds/kpi_definitions.csv",
                  "soda_checks/contracts", "dbt_project/profiles.yml",
                  "dbt_project/macros/feed_registry.sql"):  # fmt: skip
        assert known in read, f"the scan no longer finds {known}: {sorted(read)}"
    copied, code_root = image_copies(stages)
    lines = (line.strip() for line in DOCKERIGNORE_PATH.read_text().splitlines())
    ignore = [line.rstrip("/") for line in lines if line and not line.startswith("#")]
    # Tasks run on workers; the dag-processor runs failure callbacks of dead tasks, which read the register too.
    readers = [mounts(compose["services"][name]) for name in ("airflow-worker", "airflow-dag-processor")]
    problems = []
    for path, where in sorted(read.items()):
        if path == ".":
            problems.append(f"{where} reads the repository root through an expression the test cannot follow")
            continue
        in_container = posixpath.join(code_root, path)
        sources = [src for src in copied if src == "." or path == src or path.startswith(f"{src}/")]
        copy = max(sources, key=len, default=None)  # the most specific COPY decides where it lands
        copied_right = copy is not None and copied[copy] == posixpath.normpath(posixpath.join(code_root, copy))
        mounted = all(any(is_under(in_container, target) for target in service) for service in readers)
        if not (copied_right or mounted):
            problems.append(f"{path} ({where}) is neither COPY'd to {in_container} nor mounted there")
        elif copied_right and not any(path == g or path.startswith(f"{g}/") for g in GENERATED_IN_IMAGE):
            parts = [path, *(str(parent) for parent in Path(path).parents if str(parent) != ".")]
            hits = sorted({pattern for pattern in ignore for part in parts if fnmatch.fnmatch(part, pattern)})
            if hits:
                problems.append(f"{path} ({where}) is kept out of the build context by .dockerignore {hits}")
    assert not problems, "the image lacks what the code reads at run time:\n" + "\n".join(problems)


def test_lock_has_what_the_celery_stack_needs():
    locked = {p["name"] for p in tomllib.loads((REPO_ROOT / "uv.lock").read_text())["package"]}
    missing = sorted({"apache-airflow-providers-celery", "celery", "redis", "psycopg2-binary"} - locked)
    assert not missing, f"the compose stack needs {missing} in uv.lock"


def _importable(module, name: str) -> bool:
    """`from module import name` works: an attribute, or a submodule (`from celery import states`)."""
    if hasattr(module, name):
        return True
    try:
        importlib.import_module(f"{module.__name__}.{name}")
    except ImportError:
        return False
    return True


def test_celery_provider_finds_what_it_imports_from_celery():
    # The provider's own requirement (celery<6) allows a celery that lacks names it imports. Importing the
    # executor would show it too but costs seconds (all of Airflow); resolving its celery imports does not.
    from importlib import metadata

    sources = [f for f in metadata.files("apache-airflow-providers-celery") or [] if "/executors/" in str(f)]
    assert sources, "apache-airflow-providers-celery is not installed"
    broken = []
    for source in sources:
        if not str(source).endswith(".py"):
            continue
        for node in ast.walk(ast.parse(Path(source.locate()).read_text())):
            if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "celery":
                module = importlib.import_module(node.module)
                broken += [f"{node.module}.{a.name}" for a in node.names if not _importable(module, a.name)]
    assert not broken, f"the locked celery lacks what the Celery executor imports: {broken}"
