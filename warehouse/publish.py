"""Publish the checked marts to every target, all or nothing, each table and column described.

Targets: the DuckDB file BI tools open read-only (always), Parquet files per table (optional) and a
PostgreSQL reporting schema (when a reporting connection is configured). Beside them go the data
dictionary (`marts.data_dictionary` in every target, `data_dictionary.csv` and `.md` next to the file;
warehouse/catalog.py) and a comment on every table and column. Each target is prepared beside the live
one first; only when all are ready are they switched: PostgreSQL by replacing the rows of its tables
inside one transaction, the DuckDB file by an atomic `os.replace`, the Parquet folder by atomically
repointing a symlink. A reader sees the old version or the new one, never a mix; a failure while
preparing leaves every target as it was.

PostgreSQL keeps its objects: the schema and its tables are created once and never dropped, so what
others built on them stays (a read-only role's grants, analysts' views, BI tools' cached metadata).
Each publication copies every table into a temporary table of its own session, then in the same
transaction adds the columns a changed mart gained (ALTER TABLE ... ADD COLUMN), deletes every row of
each live table and inserts the new ones. DELETE rather than TRUNCATE: TRUNCATE takes an exclusive lock
(readers wait) and is not MVCC-safe (a reader whose snapshot predates it sees an empty table); DELETE
lets readers go on reading the old rows until the commit, then the new ones, and autovacuum reclaims
the old. Only a changed table's ALTER locks readers out, briefly, until the commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa

from warehouse import catalog

log = logging.getLogger(__name__)

PUBLISHED_SCHEMAS = ("marts",)
PUBLISHED_OPS_TABLES = ("data_quality_results", "pipeline_runs", "loaded_batches", "feed_status")
PARQUET_VERSIONS_KEPT = 2
# The published file is written in DuckDB's v1.0.0 storage format, which every DuckDB since 1.0 (and the
# DuckDB ODBC drivers BI tools use) opens; duckdb 2.0.0's default format opens only in 2.0 or later.
PUBLISHED_STORAGE_VERSION = "v1.0.0"
DICTIONARY_FILES = ("data_dictionary.csv", "data_dictionary.md")
# How long publication waits for a lock on a reporting table (only a changed table's ALTER needs one
# that readers hold): then it gives up, changes nothing, and the task is retried later.
POSTGRES_LOCK_TIMEOUT = "60s"
SCHEMA_COMMENT = (
    "SEND dashboard marts, published by the send_pipeline DAG after its data-quality checks. "
    "What every table and column means: data_dictionary."
)


@dataclass(frozen=True)
class Targets:
    duckdb_path: Path
    parquet_dir: Path | None = None  # a symlink to the current version folder
    postgres_url: str | None = None
    postgres_schema: str = "send_reporting"
    # dbt's manifest: the descriptions of the marts. None: marts are commented as not yet described.
    manifest_path: Path | None = None
    # A read-only role to create if absent and grant SELECT on the reporting schema (the native case;
    # docker/reporting-db/ creates it in the production shape). None: grants are left as they are.
    postgres_reader_role: str | None = None


def published_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_type = 'BASE TABLE' "
        "and (list_contains($schemas, table_schema) "
        "     or (table_schema = 'ops' and list_contains($ops, table_name))) "
        "order by 1, 2",
        {"schemas": list(PUBLISHED_SCHEMAS), "ops": list(PUBLISHED_OPS_TABLES)},
    ).fetchall()
    return [(schema, table) for schema, table in rows if (schema, table) != catalog.DICTIONARY]


def publish(con: duckdb.DuckDBPyConnection, targets: Targets | Path) -> dict[str, int]:
    """Copy the marts (and run/quality tables) from the build connection to every target, with their
    descriptions and the data dictionary; returns the rows of each table copied from the build."""
    if isinstance(targets, Path):
        targets = Targets(duckdb_path=targets)
    tables = published_tables(con)
    counts = {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchall()[0][0] for s, t in tables}
    docs = catalog.describe(con, tables, targets.manifest_path)
    if missing := catalog.undescribed(docs):
        shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
        log.warning("%d published tables/columns have no description in the dbt docs yet: %s", len(missing), shown)
    dictionary = catalog.data_dictionary(con, docs)
    docs.append(catalog.dictionary_doc())
    staged_file = staged_parquet = pg = None
    staged_pages: list[tuple[Path, Path]] = []
    con.register("_send_data_dictionary", dictionary)
    try:
        staged_file = _stage_duckdb(con, docs, targets.duckdb_path)
        staged_pages = _stage_dictionary_files(dictionary, targets.duckdb_path.parent)
        if targets.parquet_dir is not None:
            staged_parquet = _stage_parquet(con, tables, targets.parquet_dir)
        if targets.postgres_url:
            pg = _stage_postgres(con, docs, targets)
            pg.commit()  # the one step that can still fail for outside reasons goes first
    except BaseException:
        if pg is not None:
            pg.rollback()
        if staged_file is not None:
            staged_file.unlink(missing_ok=True)
        for staged, _ in staged_pages:
            staged.unlink(missing_ok=True)
        if staged_parquet is not None:
            shutil.rmtree(staged_parquet, ignore_errors=True)
        raise
    finally:
        con.unregister("_send_data_dictionary")
        if pg is not None:
            pg.close()
    os.replace(staged_file, targets.duckdb_path)
    for staged, final in staged_pages:
        os.replace(staged, final)
    _fsync(targets.duckdb_path.parent)
    if staged_parquet is not None:
        switch_symlink(targets.parquet_dir, staged_parquet)
    return counts


def _source(schema: str, table: str) -> str:
    """The relation a published table is copied from on the build connection."""
    return "_send_data_dictionary" if (schema, table) == catalog.DICTIONARY else f'"{schema}"."{table}"'


def _stage_duckdb(con, docs: list[catalog.TableDoc], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    con.execute(f"attach '{staging}' as publication (storage_version '{PUBLISHED_STORAGE_VERSION}')")
    try:
        for doc in docs:
            relation = f'publication."{doc.schema}"."{doc.table}"'
            con.execute(f'create schema if not exists publication."{doc.schema}"')
            con.execute(f"create table {relation} as select * from {_source(doc.schema, doc.table)}")
            con.execute(f"comment on table {relation} is {_literal(doc.description)}")
            for column in doc.columns:
                con.execute(f'comment on column {relation}."{column.name}" is {_literal(column.description)}')
    finally:
        con.execute("detach publication")
    _fsync(staging)
    return staging


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _stage_dictionary_files(dictionary: pa.Table, folder: Path) -> list[tuple[Path, Path]]:
    """data_dictionary.csv and .md written beside their final place; (staged, final) pairs."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    csv_name, page_name = DICTIONARY_FILES
    pages = {
        csv_name: catalog.dictionary_csv(dictionary),
        page_name: catalog.dictionary_markdown(dictionary, stamp),
    }
    staged = [(folder / f".{name}.{os.getpid()}.tmp", folder / name) for name in pages]
    try:
        for (tmp, _), text in zip(staged, pages.values(), strict=True):
            tmp.write_text(text, encoding="utf-8")
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    return staged


def _stage_parquet(con, tables, link: Path) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = link.parent / f"{link.name}.versions" / stamp
    for schema, table in [*tables, catalog.DICTIONARY]:
        (folder / schema).mkdir(parents=True, exist_ok=True)
        con.execute(
            f"copy (select * from {_source(schema, table)}) to '{folder / schema / table}.parquet' (format parquet)"
        )
    return folder


def switch_symlink(link: Path, target: Path, keep: int = PARQUET_VERSIONS_KEPT) -> None:
    """Point `link` at `target` (a version folder) in one step, then keep the `keep` newest versions.
    Also switches the board scorecard's site (scorecard/site.py)."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target.relative_to(link.parent))
    os.replace(tmp, link)  # readers resolve the link when they open a file: old or new, never a mix
    versions = sorted(target.parent.iterdir())
    for old in versions[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


# --- PostgreSQL ----------------------------------------------------------------------------------------


def _stage_postgres(con, docs: list[catalog.TableDoc], targets: Targets):
    """Replace the content of the reporting tables in one transaction; returns the connection, transaction
    open (the caller commits once every other target is ready)."""
    engine = sa.create_engine(
        targets.postgres_url, poolclass=sa.pool.NullPool, connect_args={"application_name": "send_publication"}
    )
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            _ReportingSchema(cur, targets.postgres_schema).publish(con, docs, targets.postgres_reader_role)
    except BaseException as error:
        raw.rollback()
        raw.close()
        # lock_timeout (a reader held a table an ALTER needed) or a deadlock with a reader's snapshot: nothing
        # changed; a transient failure, retried later (orchestration/failures.py).
        if getattr(error, "pgcode", None) in ("55P03", "40P01"):
            raise TimeoutError(f"reporting schema {targets.postgres_schema}: gave way to readers: {error}") from error
        raise
    return raw


@dataclasses.dataclass
class _ReportingSchema:
    cur: object  # a psycopg2 cursor, inside the publication's transaction
    schema: str
    notes: list[str] = dataclasses.field(default_factory=list)

    def publish(self, con, docs: list[catalog.TableDoc], reader_role: str | None) -> None:
        cur, schema = self.cur, self.schema
        cur.execute(f"set local lock_timeout = '{POSTGRES_LOCK_TIMEOUT}'")
        # One publisher at a time per schema (a second waits), whatever runs it.
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"send publication {schema}",))
        cur.execute("select nspname from pg_namespace where nspname in (%s, %s)", (schema, f"{schema}__new"))
        existing = {name for (name,) in cur.fetchall()}
        if schema not in existing:  # made once (docker/reporting-db/ makes it before the first publication)
            cur.execute(f"create schema {catalog.ident(schema)}")
        if f"{schema}__new" in existing:  # left by the schema-swap publication this one replaced
            cur.execute(f"drop schema {catalog.ident(schema + '__new')} cascade")
        previous = self._previously_published()
        live = self._live_columns()
        staged = {doc.postgres_table: self._stage(con, doc, index) for index, doc in enumerate(docs)}
        # Tables whose shape changes go last: their ALTER locks readers out until the commit.
        docs = sorted(docs, key=lambda doc: self._changes(doc, live.get(doc.postgres_table)) is not None)
        for doc in docs:
            self._replace(doc, live.get(doc.postgres_table), staged[doc.postgres_table])
        for table in sorted(previous - {doc.postgres_table for doc in docs} - {None}):
            self._retire(table, live)
        self._comment(docs)
        if reader_role:
            self.grant_reader(reader_role)
        for note in self.notes:
            log.warning("reporting schema %s: %s", schema, note)

    def _previously_published(self) -> set[str]:
        """Tables the last publication made (named in its data dictionary): the only ones ever retired."""
        table = catalog.postgres_table(*catalog.DICTIONARY)
        self.cur.execute(
            "select to_regclass(%s) is not null", (f"{catalog.ident(self.schema)}.{catalog.ident(table)}",)
        )
        if not self.cur.fetchone()[0]:
            return set()
        self.cur.execute(f"select distinct postgres_table from {catalog.ident(self.schema)}.{catalog.ident(table)}")
        return {name for (name,) in self.cur.fetchall()}

    def _live_columns(self) -> dict[str, dict[str, str]]:
        """table -> {column: type} of the schema's tables as they are."""
        self.cur.execute(
            "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) "
            "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped "
            "where n.nspname = %s and c.relkind in ('r', 'p') order by c.relname, a.attnum",
            (self.schema,),
        )
        live: dict[str, dict[str, str]] = {}
        for table, column, type_name in self.cur.fetchall():
            live.setdefault(table, {})[column] = type_name
        return live

    def _stage(self, con, doc: catalog.TableDoc, index: int) -> str:
        """Copy a published table into a temporary table of this session (nothing else sees it)."""
        stage = f"_send_stage_{index}"
        ddl = ", ".join(f"{catalog.ident(c.name)} {catalog.postgres_type(c.data_type)}" for c in doc.columns)
        self.cur.execute(f"create temporary table {stage} ({ddl}) on commit drop")
        reader = con.sql(f"select * from {_source(doc.schema, doc.table)}").to_arrow_reader(100_000)
        try:
            for batch in reader:
                buffer = io.BytesIO()
                pa_csv.write_csv(batch, buffer, pa_csv.WriteOptions(include_header=False))
                buffer.seek(0)
                self.cur.copy_expert(f"copy {stage} from stdin with (format csv)", buffer)
        finally:
            reader.close()  # the build connection takes no other query while a result is open
        return stage

    @staticmethod
    def _changes(doc: catalog.TableDoc, live: dict[str, str] | None):
        """(columns to add, columns to retype, columns no longer published), or None if the shape holds."""
        if live is None:
            return None
        wanted = {c.name: catalog.postgres_type(c.data_type) for c in doc.columns}
        added = [name for name in wanted if name not in live]
        retyped = [name for name in wanted if name in live and live[name] != wanted[name]]
        gone = [name for name in live if name not in wanted]
        return (added, retyped, gone) if added or retyped or gone else None

    def _replace(self, doc: catalog.TableDoc, live: dict[str, str] | None, stage: str) -> None:
        table = f"{catalog.ident(self.schema)}.{catalog.ident(doc.postgres_table)}"
        types = {c.name: catalog.postgres_type(c.data_type) for c in doc.columns}
        if live is None:  # new: created once, the schema's default privileges give readers SELECT
            ddl = ", ".join(f"{catalog.ident(name)} {type_name}" for name, type_name in types.items())
            self.cur.execute(f"create table {table} ({ddl})")
        elif changes := self._changes(doc, live):
            added, retyped, gone = changes
            for name in added:
                self.cur.execute(f"alter table {table} add column {catalog.ident(name)} {types[name]}")
            for name in retyped:
                self.cur.execute(
                    f"alter table {table} alter column {catalog.ident(name)} type {types[name]} "
                    f"using {catalog.ident(name)}::{types[name]}"
                )
            for name in gone:
                self._drop_column(doc.postgres_table, name)
        columns = ", ".join(catalog.ident(c.name) for c in doc.columns)
        self.cur.execute(f"delete from {table}")
        self.cur.execute(f"insert into {table} ({columns}) select {columns} from {stage}")

    def _drop_column(self, table: str, column: str) -> None:
        """A column the marts no longer have goes, unless a view depends on it: then it stays, empty."""
        self.cur.execute("savepoint drop_column")
        try:
            self.cur.execute(
                f"alter table {catalog.ident(self.schema)}.{catalog.ident(table)} drop column {catalog.ident(column)}"
            )
        except Exception as error:
            if getattr(error, "pgcode", None) != "2BP01":  # dependent_objects_still_exist
                raise
            self.cur.execute("rollback to savepoint drop_column")
            self.notes.append(f"{table}.{column} is no longer published; kept, null, because views depend on it")
            self.cur.execute(
                f"comment on column {catalog.ident(self.schema)}.{catalog.ident(table)}.{catalog.ident(column)} is %s",
                ("No longer published: always null. Kept only because a view depends on it; change the view.",),
            )
        else:
            self.cur.execute("release savepoint drop_column")

    def _retire(self, table: str, live: dict[str, dict[str, str]]) -> None:
        """A table the marts no longer have goes, unless a view depends on it: then it stays, empty."""
        if table not in live:
            return
        relation = f"{catalog.ident(self.schema)}.{catalog.ident(table)}"
        self.cur.execute("savepoint retire")
        try:
            self.cur.execute(f"drop table {relation}")
        except Exception as error:
            if getattr(error, "pgcode", None) != "2BP01":
                raise
            self.cur.execute("rollback to savepoint retire")
            self.notes.append(f"{table} is no longer published; kept, empty, because views depend on it")
            self.cur.execute(f"delete from {relation}")
            self.cur.execute(
                f"comment on table {relation} is %s",
                ("No longer published: empty. Kept only because a view depends on it; change the view.",),
            )
        else:
            self.cur.execute("release savepoint retire")

    def _comment(self, docs: list[catalog.TableDoc]) -> None:
        """Every table and column described; only what changed is written (a comment locks its table
        against other DDL, never against readers)."""
        self.cur.execute(
            "select c.relname, a.attname, col_description(c.oid, a.attnum) "
            "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped "
            "where n.nspname = %s and c.relkind in ('r', 'p') "
            "union all select c.relname, null, obj_description(c.oid, 'pg_class') from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relkind in ('r', 'p')",
            (self.schema, self.schema),
        )
        current = {(table, column): text for table, column, text in self.cur.fetchall()}
        self.cur.execute("select obj_description(%s::regnamespace, 'pg_namespace')", (catalog.ident(self.schema),))
        if self.cur.fetchone()[0] != SCHEMA_COMMENT:
            self.cur.execute(f"comment on schema {catalog.ident(self.schema)} is %s", (SCHEMA_COMMENT,))
        for doc in docs:
            relation = f"{catalog.ident(self.schema)}.{catalog.ident(doc.postgres_table)}"
            if current.get((doc.postgres_table, None)) != doc.description:
                self.cur.execute(f"comment on table {relation} is %s", (doc.description,))
            for column in doc.columns:
                if current.get((doc.postgres_table, column.name)) != column.description:
                    self.cur.execute(
                        f"comment on column {relation}.{catalog.ident(column.name)} is %s", (column.description,)
                    )

    def grant_reader(self, role: str) -> None:
        """The read-only role (created if absent, without login) may read every table of the schema, now
        and those a later publication creates; only missing grants are written."""
        cur, schema = self.cur, catalog.ident(self.schema)
        cur.execute("select exists (select from pg_roles where rolname = %s)", (role,))
        if not cur.fetchone()[0]:
            cur.execute(f"create role {catalog.ident(role)} nologin")
        cur.execute("select has_database_privilege(%s, current_database(), 'CONNECT')", (role,))
        if not cur.fetchone()[0]:
            cur.execute("select current_database()")
            cur.execute(f"grant connect on database {catalog.ident(cur.fetchone()[0])} to {catalog.ident(role)}")
        cur.execute("select has_schema_privilege(%s, %s, 'USAGE')", (role, self.schema))
        if not cur.fetchone()[0]:
            cur.execute(f"grant usage on schema {schema} to {catalog.ident(role)}")
        cur.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relkind in ('r', 'p', 'v') and not has_table_privilege(%s, c.oid, 'SELECT')",
            (self.schema, role),
        )
        for (table,) in cur.fetchall():
            cur.execute(f"grant select on {schema}.{catalog.ident(table)} to {catalog.ident(role)}")
        cur.execute(
            "select exists (select from pg_default_acl d, aclexplode(d.defaclacl) a "
            "where d.defaclnamespace = %s::regnamespace and d.defaclrole = current_user::regrole "
            "and d.defaclobjtype = 'r' and a.grantee = %s::regrole and a.privilege_type = 'SELECT')",
            (schema, catalog.ident(role)),
        )
        if not cur.fetchone()[0]:
            cur.execute(f"alter default privileges in schema {schema} grant select on tables to {catalog.ident(role)}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
