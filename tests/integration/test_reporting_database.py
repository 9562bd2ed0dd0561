"""The PostgreSQL reporting database BI users rely on: publication keeps its tables, so a read-only role
created once keeps reading, analysts' views survive, and readers never see a half-published mart.

Real PostgreSQL (the machine's, 127.0.0.1:5432; skipped with the reason when unreachable), roles made by
the deployment's own SQL (docker/reporting-db/bi_reader.sql, through psql) or by the publish step's
setting (the native case).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import duckdb
import psycopg2
import pytest
import sqlalchemy as sa

from orchestration.settings import REPO_ROOT
from tests.conftest import FIGURES
from warehouse.publish import Targets, publish

BI_READER_SQL = REPO_ROOT / "docker" / "reporting-db" / "bi_reader.sql"
SCHEMA = "send_reporting"
READERS = 20
PUBLISHES = 3


def _rows(version: int) -> int:
    return 3000 + 500 * version


def _build(path: Path, version: int, extra_column: bool = False, extra_table: bool = False):
    """A build whose rows say which version they belong to; later versions may grow a column or a mart."""
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts")
    note = ", 'note ' || i as target_note" if extra_column else ""
    con.execute(
        "create or replace table marts.kpi_values as select 'K' || (i % 40) as kpi_code, i as period, "
        f"{version} as version, (i * 1.5)::double as value{note} from range({_rows(version)}) t(i)"
    )
    con.execute(f"create or replace table marts.kpi_catalogue as select {version} as version, {_rows(version)} as rows")
    if extra_table:
        con.execute(f"create or replace table marts.kpi_extra as select {version} as version")
    return con


def _libpq(url: str, user: str | None = None) -> str:
    parsed = sa.make_url(url).set(drivername="postgresql")
    return (parsed.set(username=user) if user else parsed).render_as_string(hide_password=False)


def _run_deployment_sql(url: str, reader_role: str, bi_login: str) -> None:
    """docker/reporting-db/bi_reader.sql as the reporting-db service runs it (twice: it is idempotent)."""
    env = {"SEND_BI_PASSWORD": "test-only-password", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    for _ in range(2):
        subprocess.run(
            ["psql", _libpq(url), "-q", "-v", f"reader_role={reader_role}", "-v", f"bi_login={bi_login}",
             "-f", str(BI_READER_SQL)],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip


@pytest.fixture
def roles(pg_url):
    """Unique role names (roles are cluster-wide), dropped with everything they own afterwards."""
    suffix = uuid.uuid4().hex[:8]
    names = {"reader": f"send_bi_reader_{suffix}", "login": f"send_bi_{suffix}", "analyst": f"analyst_{suffix}"}
    yield names
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for name in names.values():
            if conn.exec_driver_sql("select 1 from pg_roles where rolname = %s", (name,)).first():
                conn.exec_driver_sql(f'drop owned by "{name}" cascade')
        for name in ("login", "analyst", "reader"):
            conn.exec_driver_sql(f'drop role if exists "{names[name]}"')
    engine.dispose()


def _admin(url: str, *statements: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def _analyst_view(url: str, roles: dict) -> None:
    """An analyst (a login in the reader role) builds a view of their own over a published table."""
    analyst, reader = roles["analyst"], roles["reader"]
    _admin(
        url,
        f'create role "{analyst}" login in role "{reader}"',
        f'create schema "{analyst}" authorization "{analyst}"',
        f'set role "{analyst}"; create view "{analyst}".kpi_by_code as select kpi_code, count(*) as n, '
        f"max(version) as version from {SCHEMA}.kpi_values group by kpi_code; "
        f'grant usage on schema "{analyst}" to "{reader}"; grant select on "{analyst}".kpi_by_code to "{reader}"',
    )


def _oids(url: str, roles: dict) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = dict(
            conn.exec_driver_sql(
                "select n.nspname || '.' || c.relname, c.oid::bigint from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace where n.nspname in (%s, %s) and c.relkind in ('r', 'v')",
                (SCHEMA, roles["analyst"]),
            ).all()
        )
    engine.dispose()
    return found


class Reader(threading.Thread):
    """A BI user's session on the read-only login, reading kpi_values in a loop as dashboards do: one
    statement at a time, and a refresh reading several tables in one snapshot (REPEATABLE READ)."""

    def __init__(self, dsn: str, analyst_schema: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.dsn, self.analyst_schema, self.stop = dsn, analyst_schema, stop
        self.reads = self.errors = self.bad = 0
        self.versions: list[int] = []
        self.messages: list[str] = []
        self.slowest = 0.0

    def run(self) -> None:
        conn = psycopg2.connect(self.dsn, connect_timeout=10)
        try:
            while not self.stop.is_set():
                started = time.perf_counter()
                try:
                    version, whole = self._read(conn, snapshot=self.reads % 2 == 1)
                except Exception as error:  # noqa: BLE001 - every error is counted and reported
                    conn.rollback()
                    self.errors += 1
                    self.messages.append(f"{type(error).__name__}: {error}"[:300])
                    continue
                self.slowest = max(self.slowest, time.perf_counter() - started)
                self.reads += 1
                self.bad += 0 if whole else 1
                if self.versions and version < self.versions[-1]:
                    self.bad += 1  # a reader never goes back to an older publication
                self.versions.append(version)
                time.sleep(0.005)
        finally:
            conn.close()

    def _read(self, conn, snapshot: bool) -> tuple[int, bool]:
        conn.set_session(isolation_level="REPEATABLE READ" if snapshot else "READ COMMITTED", readonly=True)
        with conn.cursor() as cur:
            cur.execute(f"select count(*), min(version), max(version) from {SCHEMA}.kpi_values")
            rows, low, high = cur.fetchone()
            whole = rows > 0 and low == high and rows == _rows(low)  # never empty, never two versions
            if snapshot:  # the catalogue and the analyst's view agree with it: one version of everything
                cur.execute(f"select version, rows from {SCHEMA}.kpi_catalogue")
                version, expected = cur.fetchone()
                cur.execute(f'select sum(n), min(version), max(version) from "{self.analyst_schema}".kpi_by_code')
                view_rows, view_low, view_high = cur.fetchone()
                whole = (
                    whole
                    and (version, expected) == (low, rows)
                    and (view_rows, view_low, view_high)
                    == (
                        rows,
                        low,
                        low,
                    )
                )
        conn.rollback()
        return low, whole


def test_a_read_only_role_keeps_its_select_across_publishes_while_twenty_readers_read(tmp_path, pg_url, roles):
    psql = shutil.which("psql")
    targets = Targets(tmp_path / "pub" / "send.duckdb", None, pg_url, SCHEMA)
    if psql:  # the deployment's own SQL, as the reporting-db service runs it on its first start
        _run_deployment_sql(pg_url, roles["reader"], roles["login"])
    else:  # the native case's setting, on the first publication only
        _admin(pg_url, f'create role "{roles["login"]}" login')
        targets = Targets(**{**targets.__dict__, "postgres_reader_role": roles["reader"]})
    publish(_build(tmp_path / "build1.duckdb", version=1), targets)
    if not psql:
        _admin(pg_url, f'grant "{roles["reader"]}" to "{roles["login"]}"')
        targets = Targets(**{**targets.__dict__, "postgres_reader_role": None})
    _analyst_view(pg_url, roles)
    before = _oids(pg_url, roles)

    stop = threading.Event()
    readers = [Reader(_libpq(pg_url, roles["login"]), roles["analyst"], stop) for _ in range(READERS)]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + 60
    while any(r.reads + r.errors == 0 for r in readers) and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.perf_counter()
    timings = []
    try:
        for version in range(2, 2 + PUBLISHES):  # v3 gains a column, v4 a new mart
            build = _build(
                tmp_path / f"build{version}.duckdb", version, extra_column=version >= 3, extra_table=version >= 4
            )
            began = time.perf_counter()
            publish(build, targets)
            timings.append(time.perf_counter() - began)
            time.sleep(0.3)
        time.sleep(0.3)
    finally:  # the readers stop before the database and roles go, whatever happened
        stop.set()
        for reader in readers:
            reader.join(timeout=60)
    elapsed = time.perf_counter() - started

    errors = [m for r in readers for m in r.messages]
    assert not errors, errors[:5]
    assert sum(r.bad for r in readers) == 0, "a reader saw an empty, mixed or older kpi_values"
    assert all(r.reads > 0 for r in readers)
    seen = {v for r in readers for v in r.versions}
    assert {1, 2 + PUBLISHES - 1} <= seen
    after = _oids(pg_url, roles)
    assert {k: after[k] for k in before} == before, "a table or the analyst's view was recreated"
    # The role created once reads the new column and the mart a later publication added (default
    # privileges), and cannot write.
    with psycopg2.connect(_libpq(pg_url, roles["login"])) as conn, conn.cursor() as cur:
        cur.execute(f"select count(target_note) from {SCHEMA}.kpi_values")
        assert cur.fetchone() == (_rows(2 + PUBLISHES - 1),)
        cur.execute(f"select version from {SCHEMA}.kpi_extra")
        assert cur.fetchone() == (4,)
        with pytest.raises(psycopg2.Error, match="(?i)permission denied|read-only"):
            cur.execute(f"delete from {SCHEMA}.kpi_values")
    reads = sum(r.reads for r in readers)
    FIGURES.append(
        f"reporting DB: {READERS} readers ({'deployment SQL' if psql else 'publish-step grants'}), {PUBLISHES} "
        f"publishes ({', '.join(f'{t:.2f}' for t in timings)} s), {reads} reads in {elapsed:.1f} s, 0 errors, "
        f"0 empty or mixed; slowest read {max(r.slowest for r in readers) * 1000:.0f} ms"
    )


def test_the_publish_step_creates_and_grants_the_reader_role_when_asked(tmp_path, pg_url, roles):
    targets = Targets(tmp_path / "send.duckdb", None, pg_url, SCHEMA, postgres_reader_role=roles["reader"])
    publish(_build(tmp_path / "b1.duckdb", version=1), targets)
    _admin(pg_url, f'create role "{roles["login"]}" login in role "{roles["reader"]}"')
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        acl = conn.exec_driver_sql(
            "select relname, relacl::text from pg_class where relnamespace = %s::regnamespace", (SCHEMA,)
        ).all()
    publish(_build(tmp_path / "b2.duckdb", version=2, extra_table=True), targets)
    with engine.connect() as conn:
        again = dict(
            conn.exec_driver_sql(
                "select relname, relacl::text from pg_class where relnamespace = %s::regnamespace", (SCHEMA,)
            ).all()
        )
    engine.dispose()
    assert {name: again[name] for name, _ in acl} == dict(acl), "grants were rewritten on an unchanged table"
    with psycopg2.connect(_libpq(pg_url, roles["login"])) as conn, conn.cursor() as cur:
        cur.execute(f"select (select count(*) from {SCHEMA}.kpi_values), (select version from {SCHEMA}.kpi_extra)")
        assert cur.fetchone() == (_rows(2), 2)


def test_a_changed_mart_keeps_its_table_and_the_views_built_on_it(tmp_path, pg_url, roles):
    targets = Targets(tmp_path / "send.duckdb", None, pg_url, SCHEMA, postgres_reader_role=roles["reader"])
    first = _build(tmp_path / "b1.duckdb", version=1, extra_column=True, extra_table=True)
    first.execute("create table marts.kpi_retired as select 1 as version")
    publish(first, targets)
    _analyst_view(pg_url, roles)
    analyst = roles["analyst"]
    _admin(
        pg_url,
        f'set role "{analyst}"; create view "{analyst}".notes as select target_note from {SCHEMA}.kpi_values; '
        f'create view "{analyst}".extra as select version from {SCHEMA}.kpi_extra',
    )
    before = _oids(pg_url, roles)
    # The next build lost kpi_values.target_note (a view uses it), gained a column, and lost two marts:
    # kpi_extra (a view uses it) and kpi_retired (nothing does).
    second = _build(tmp_path / "b2.duckdb", version=2)
    second.execute("alter table marts.kpi_values add column rag varchar default 'green'")
    publish(second, targets)

    after = _oids(pg_url, roles)
    assert after[f"{SCHEMA}.kpi_values"] == before[f"{SCHEMA}.kpi_values"]
    assert f"{SCHEMA}.kpi_retired" not in after
    assert after[f"{SCHEMA}.kpi_extra"] == before[f"{SCHEMA}.kpi_extra"]
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql(
            f"select count(*), count(target_note), count(*) filter (where rag = 'green') from {SCHEMA}.kpi_values"
        ).one() == (_rows(2), 0, _rows(2))
        assert conn.exec_driver_sql(f'select count(*) from "{analyst}".notes').scalar() == _rows(2)
        assert conn.exec_driver_sql(f'select count(*) from "{analyst}".extra').scalar() == 0
        comments = conn.exec_driver_sql(
            f"select col_description('{SCHEMA}.kpi_values'::regclass, attnum) from pg_attribute "
            f"where attrelid = '{SCHEMA}.kpi_values'::regclass and attname = 'target_note'"
        ).scalar()
        assert comments.startswith("No longer published")
        assert (
            conn.exec_driver_sql(f"select obj_description('{SCHEMA}.kpi_extra'::regclass)")
            .scalar()
            .startswith("No longer published")
        )
    engine.dispose()
