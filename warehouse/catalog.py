"""What every published table and column means: its description, and the data dictionary published beside
the marts (`marts.data_dictionary`, `data_dictionary.csv`, `data_dictionary.md`).

Descriptions come from one place per kind of table:
- marts: dbt, the `description` of each model and column, read from dbt's manifest
  (`dbt_project/target/manifest.json`, which `make` and the image's `dbt parse` build);
- the operational tables the publication copies (`ops.*`, whose DDL is in ingestion/load.py OPS_DDL,
  warehouse/ledger.py and warehouse/quality.py) and the dictionary itself have no dbt model: they are
  described here, in `PLATFORM_DESCRIPTIONS` (tests/integration/test_publication_targets.py fails when a
  published column of that DDL is not).
A column dbt does not describe yet still gets a comment, one that says so (`UNDESCRIBED`), and the
dictionary marks it `description_source = 'missing'`: the gap shows where BI users look, never as an
empty comment.

Example values come from the data being published, and never show what must not leave it:
- no example from an identifier (person keys, hashed identifiers, source record ids: `*_key`, `*_hash`,
  `*_id` other than `run_id`; checksums) or a personal column (sex, birth month, postcode district,
  named owners): `IDENTIFIER_SUFFIXES`, `IDENTIFIER_COLUMNS`, `PERSONAL_COLUMNS`;
- the public profile holds: a table with a public profile (`kpi_values` -> `kpi_values_public`) gives its
  examples from that profile, and a table with `is_suppressed` only from rows where it is false;
- no small count: a BIGINT value from 1 to 7 (the range the public profile suppresses) is never shown;
- in record-level tables (a row per person's request, plan, review ...: those with a person key or a
  hashed identifier) a value is shown only if at least 8 records share it.
The example is the most frequent value passing these rules (ties: the first in text order), in a random
sample of about `EXAMPLE_SAMPLE_ROWS` rows of a bigger table.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

log = logging.getLogger(__name__)

DICTIONARY = ("marts", "data_dictionary")
UNDESCRIBED = "No description yet: to be added to the dbt docs of {table}."
SMALL_NUMBERS = (1, 7)  # the public profile suppresses counts in this range
MIN_SHARED_RECORDS = 8  # record-level tables: a value shown must be shared by at least this many rows
EXAMPLE_MAX_CHARS = 60
# Examples of a bigger table come from a sample of about this many rows (a value 8 sampled records share is
# shared by at least 8 records): the dictionary costs about the same at every scale.
EXAMPLE_SAMPLE_ROWS = 200_000
IDENTIFIER_SUFFIXES = ("_id", "_key", "_hash")
IDENTIFIER_COLUMNS = {"sha256", "record_key"}
NOT_IDENTIFIERS = {"run_id"}  # the Airflow run: says which run built a row, nothing about a person
PERSONAL_COLUMNS = {"birth_month", "sex", "gender", "postcode_district", "owner", "data_owner"}
PUBLIC_PROFILES = {("marts", "kpi_values"): ("marts", "kpi_values_public")}
_COUNT_TYPES = {"BIGINT", "HUGEINT", "UBIGINT"}  # DuckDB's count() and sum() of integers

_RUN_ID = "Airflow run id of the pipeline run (the same id as on the rows of the marts it built)."
PLATFORM_DESCRIPTIONS: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("ops", "pipeline_runs"): (
        "The run ledger: one row per run of the send_pipeline DAG, with what it read, how many data-quality "
        "checks ran and failed, and whether it published. The row of the run that published these marts is "
        "included.",
        {
            "run_id": _RUN_ID,
            "logical_date": "The run's as-of date: the marts it built cover the complete calendar months before it.",
            "status": "published; superseded (a rerun of a past date after newer marts were published: not "
            "published); failed_quality (a blocking data-quality check failed: nothing published); "
            "publish_failed (a publication target failed: nothing published).",
            "feeds": "JSON, per feed: live, blocked or stale, the reason, its newest data and the rows read, "
            "loaded and rejected by this run.",
            "rows_read": "Rows this run read from every source (loaded + rejected).",
            "checks_run": "Data-quality checks run before publication (see data_quality_results).",
            "checks_failed": "Blocking data-quality checks that failed (0 for a published run).",
            "recorded_at": "When this ledger row was last written.",
        },
    ),
    ("ops", "feed_status"): (
        "Per run, feed (information-governance agreement) and, for a feed read per LA, LA: whether it was "
        "read (live), not read "
        "(blocked: IG register, expired agreement, access refused, or its extract failed) or read but too "
        "old (stale), why, how "
        "new its data is, and whether its data owner was told.",
        {
            "run_id": _RUN_ID,
            "feed": "The agreement as named in the IG register (governance/ig_register.yml), e.g. "
            "la_case_management, icb_nd_referrals.",
            "area_code": "The LA (ONS code) whose source was decided, for a feed read from one database per LA "
            "(la_case_management); empty for a feed decided once for every area.",
            "status": "live (read), blocked (not read) or stale (read, but its newest data is older than the "
            "register's freshness limit); blocked and stale feeds' KPIs fall back.",
            "reason": "Why the feed was blocked or stale, written never to quote a value; empty when live.",
            "newest_data": "Date of the newest data the feed held when read (for an LA whose extract failed, the "
            "newest it holds from earlier reads); null when not read or not dated.",
            "data_owner": "The data owner the IG register names for the agreement.",
            "owner_notified": "True when the data owner was sent a notice about this feed in this run.",
            "recorded_at": "When this decision was recorded.",
            "as_of": "The run's as-of date: how far the feed's data reaches for coverage.",
        },
    ),
    ("ops", "loaded_batches"): (
        "Every batch of every source table loaded into the warehouse: rows in = rows loaded + rows rejected "
        "(the rejected rows, with their reasons, stay in the private build).",
        {
            "feed": "The feed the batch came from.",
            "batch_id": "The landed batch (one extract of one feed by one run).",
            "run_id": _RUN_ID,
            "area_code": "ONS code of the local authority the batch belongs to; null for feeds not split by LA.",
            "source_table": "The source table or file kind, as named in the feed's contract.",
            "contract_version": "Version of the feed's source contract the batch was validated against.",
            "extracted_at": "When the batch was extracted from its source.",
            "rows_in": "Rows read from the source for this table (rows_loaded + rows_rejected).",
            "rows_loaded": "Rows that passed validation and were loaded.",
            "rows_rejected": "Rows rejected with a reason (a mandatory or coded field was wrong).",
            "fields_blanked": "Invalid optional identifiers blanked (their rows still loaded).",
            "sha256": "Checksum of the landed Parquet file, verified when it is loaded.",
            "loaded_at": "When the batch was loaded into the warehouse.",
        },
    ),
    ("ops", "data_quality_results"): (
        "Every data-quality check of every run: the Soda contracts (soda_checks/contracts) and the row-count "
        "comparison with the last publication (warehouse/quality.py). A blocking failure stops publication.",
        {
            "run_id": _RUN_ID,
            "contract": "The Soda contract file (or warehouse/quality.py for the row-count check).",
            "dataset": "The table checked, schema.table.",
            "check_name": "The check, as named in its contract.",
            "column_name": "The column checked; null for a table-level check.",
            "outcome": "passed, warned (recorded, does not block), failed or not_evaluated (both block).",
            "blocking": "True when this result stopped publication (failed or not_evaluated).",
            "measured_value": "What the check measured (e.g. invalid rows, the row count).",
            "diagnostics": "JSON details from the check (counts, thresholds); never a row's values.",
            "checked_at": "When the check ran.",
        },
    ),
    DICTIONARY: (
        "The data dictionary: every published table and column with its type, its description (from the dbt "
        "docs for marts, from warehouse/catalog.py for the operational tables) and an example value from the "
        "data, never from an identifier, a personal column or a small number. Also published as "
        "data_dictionary.csv and data_dictionary.md beside send.duckdb.",
        {
            "table_schema": "Schema of the table in the published DuckDB file and Parquet folder (marts or ops).",
            "table_name": "Table name in the published DuckDB file and Parquet folder.",
            "postgres_table": "The same table in the PostgreSQL reporting schema (ops tables get an ops_ prefix).",
            "table_description": "What the table holds: one row per what, and what it is for.",
            "column_name": "The column.",
            "ordinal_position": "Position of the column in the published table (1 = first).",
            "data_type": "DuckDB type of the column in the published file and Parquet files.",
            "postgres_type": "Type of the column in the PostgreSQL reporting schema.",
            "description": "What the column means; also the column's comment in DuckDB and PostgreSQL.",
            "description_source": "dbt (the dbt docs), platform (warehouse/catalog.py) or missing (not yet "
            "described: the comment says so).",
            "example_value": "A value from the published data, as text; null when withheld (see example_note).",
            "example_note": "Why there is no example (identifier, personal, small numbers, no value); null "
            "when there is one.",
        },
    ),
}
_DICTIONARY_SCHEMA = pa.schema(
    [
        ("table_schema", pa.string()),
        ("table_name", pa.string()),
        ("postgres_table", pa.string()),
        ("table_description", pa.string()),
        ("column_name", pa.string()),
        ("ordinal_position", pa.int32()),
        ("data_type", pa.string()),
        ("postgres_type", pa.string()),
        ("description", pa.string()),
        ("description_source", pa.string()),
        ("example_value", pa.string()),
        ("example_note", pa.string()),
    ]
)
_POSTGRES_TYPES = {
    "VARCHAR": "text",
    "DATE": "date",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "TIMESTAMP": "timestamp without time zone",
    "HUGEINT": "numeric",
}


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    data_type: str  # DuckDB
    description: str
    source: str  # dbt | platform | missing


@dataclass(frozen=True)
class TableDoc:
    schema: str
    table: str
    description: str
    source: str
    columns: tuple[ColumnDoc, ...]

    @property
    def postgres_table(self) -> str:
        return postgres_table(self.schema, self.table)


def postgres_table(schema: str, table: str) -> str:
    """The table's name in the PostgreSQL reporting schema: marts keep theirs, others get a schema prefix."""
    return table if schema == "marts" else f"{schema}_{table}"


def postgres_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return "numeric"
    return _POSTGRES_TYPES.get(duckdb_type, "text")


def dbt_docs(manifest_path: Path | None) -> dict[tuple[str, str], tuple[str, dict[str, str]]]:
    """(schema, table) -> (model description, {column: description}) for every model and seed in dbt's
    manifest; empty (with a warning) when there is no manifest: publication never waits on docs."""
    if manifest_path is None or not manifest_path.is_file():
        log.warning("no dbt manifest at %s: published marts are commented as not yet described", manifest_path)
        return {}
    manifest = json.loads(manifest_path.read_text())
    docs = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in ("model", "seed", "snapshot"):
            continue
        columns = {name: (column.get("description") or "").strip() for name, column in node["columns"].items()}
        key = (node["schema"], node.get("alias") or node["name"])
        docs[key] = ((node.get("description") or "").strip(), columns)
    return docs


def describe(
    con: duckdb.DuckDBPyConnection, tables: Iterable[tuple[str, str]], manifest_path: Path | None
) -> list[TableDoc]:
    """The description of each published table and of each of its columns, as the build holds them."""
    from_dbt = dbt_docs(manifest_path)
    described = []
    for schema, table in tables:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = current_database() and table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [schema, table],
        ).fetchall()
        described.append(_document(schema, table, columns, from_dbt))
    return described


def dictionary_doc() -> TableDoc:
    """The dictionary's own entry (it is published, so it is described and listed too)."""
    return _document(*DICTIONARY, [(field.name, _duckdb_type(field.type)) for field in _DICTIONARY_SCHEMA], {})


def _document(schema: str, table: str, columns, from_dbt) -> TableDoc:
    name = f"{schema}.{table}"
    if (schema, table) in PLATFORM_DESCRIPTIONS:
        description, column_docs = PLATFORM_DESCRIPTIONS[schema, table]
        source = "platform"
    else:
        description, column_docs = from_dbt.get((schema, table), ("", {}))
        source = "dbt"
    documented = []
    for column, data_type in columns:
        text = column_docs.get(column, "").strip()
        documented.append(
            ColumnDoc(column, data_type, text or UNDESCRIBED.format(table=name), source if text else "missing")
        )
    description = description.strip()
    return TableDoc(
        schema,
        table,
        description or UNDESCRIBED.format(table=name),
        source if description else "missing",
        tuple(documented),
    )


def undescribed(docs: Iterable[TableDoc]) -> list[str]:
    """`schema.table` and `schema.table.column` of everything published without a description."""
    missing = []
    for doc in docs:
        if doc.source == "missing":
            missing.append(f"{doc.schema}.{doc.table}")
        missing += [f"{doc.schema}.{doc.table}.{c.name}" for c in doc.columns if c.source == "missing"]
    return missing


# --- the data dictionary -----------------------------------------------------------------------------


def data_dictionary(con: duckdb.DuckDBPyConnection, docs: list[TableDoc]) -> pa.Table:
    """One row per published column (the dictionary's own included), with a safe example from the data."""
    rows = []
    built = {(d.schema, d.table) for d in docs}
    for doc in [*docs, dictionary_doc()]:
        own = (doc.schema, doc.table) == DICTIONARY
        examples = {} if own else _examples(con, doc, built)
        for position, column in enumerate(doc.columns, start=1):
            example, note = examples.get(column.name, (None, "this table" if own else "no example"))
            rows.append(
                {
                    "table_schema": doc.schema,
                    "table_name": doc.table,
                    "postgres_table": doc.postgres_table,
                    "table_description": doc.description,
                    "column_name": column.name,
                    "ordinal_position": position,
                    "data_type": column.data_type,
                    "postgres_type": postgres_type(column.data_type),
                    "description": column.description,
                    "description_source": column.source,
                    "example_value": example,
                    "example_note": note,
                }
            )
    return pa.Table.from_pylist(rows, schema=_DICTIONARY_SCHEMA)


def _example_source(doc: TableDoc, built: set[tuple[str, str]], names: set[str]) -> str:
    """The rows examples may come from: the public profile's where there is one, never suppressed rows."""
    schema, table = PUBLIC_PROFILES.get((doc.schema, doc.table), (doc.schema, doc.table))
    if (schema, table) not in built:
        schema, table = doc.schema, doc.table
    relation = f'"{schema}"."{table}"'
    return f"(select * from {relation} where not is_suppressed)" if "is_suppressed" in names else relation


def _withheld(column: ColumnDoc) -> str | None:
    name = column.name.lower()
    if name in PERSONAL_COLUMNS:
        return "withheld: personal"
    if name not in NOT_IDENTIFIERS and (name in IDENTIFIER_COLUMNS or name.endswith(IDENTIFIER_SUFFIXES)):
        return "withheld: identifier"
    return None


def _examples(con, doc: TableDoc, built: set[tuple[str, str]]) -> dict[str, tuple[str | None, str | None]]:
    """column -> (example, why there is none), from one scan of the table's shown rows."""
    names = {c.name for c in doc.columns}
    record_level = "person_key" in names or any(n.endswith("_hash") for n in names)
    found = {c.name: (None, reason) for c in doc.columns if (reason := _withheld(c))}
    candidates = [c for c in doc.columns if c.name not in found]
    if not candidates:
        return found
    low, high = SMALL_NUMBERS
    shown, present_sql = [], []
    for index, column in enumerate(candidates):
        quoted = ident(column.name)
        present_sql.append(f"count({quoted})")
        value = (
            f"case when {quoted} between {low} and {high} then null else {quoted} end"
            if (column.data_type in _COUNT_TYPES)
            else quoted
        )
        shown.append(f"nullif(({value})::varchar, '') as c{index}")
    shared = MIN_SHARED_RECORDS if record_level else 1
    try:
        with _sample(con, _example_source(doc, built, names), [c.name for c in candidates]) as source:
            best = con.execute(
                f"with shown as (select {', '.join(shown)} from {source}), "
                "cells as (unpivot shown on columns(*) into name col value v), "
                f"counted as (select col, v, count(*) as n from cells group by all having count(*) >= {shared}) "
                "select col, v from counted qualify row_number() over (partition by col order by n desc, v) = 1"
            ).fetchall()
            present = con.execute(f"select {', '.join(present_sql)} from {source}").fetchall()[0]
    except duckdb.Error as error:  # a column the public profile lacks, a type that cannot be grouped
        log.warning("no examples for %s.%s: %s", doc.schema, doc.table, error)
        return found
    chosen = {col: value for col, value in best}
    for index, column in enumerate(candidates):
        value = chosen.get(f"c{index}")
        if value is not None:
            found[column.name] = (
                value if len(value) <= EXAMPLE_MAX_CHARS else value[: EXAMPLE_MAX_CHARS - 1] + "…",
                None,
            )
        elif not present[index]:
            found[column.name] = (None, "no value in the published rows")
        elif record_level:
            found[column.name] = (None, f"withheld: no value shared by {MIN_SHARED_RECORDS} or more records")
        else:
            found[column.name] = (None, f"withheld: only small numbers ({low} to {high})")
    return found


@contextlib.contextmanager
def _sample(con, relation: str, columns: list[str]):
    """The rows examples are taken from, as one temporary table: all of a small relation, about
    `EXAMPLE_SAMPLE_ROWS` of a bigger one. Bernoulli (each row kept with the same chance) rather than a
    reservoir of exactly that many rows: a reservoir holds and replaces whole rows over the full scan
    (the examples of the 33 published tables at national: 13.4 s with a reservoir, 2.4 s so)."""
    rows = con.execute(f"select count(*) from {relation}").fetchone()[0]
    sample = ""
    if rows > EXAMPLE_SAMPLE_ROWS:
        sample = f" using sample {100 * EXAMPLE_SAMPLE_ROWS / rows:.9f} percent (bernoulli)"
    quoted = ", ".join(ident(name) for name in columns)
    con.execute(f"create or replace temporary table _send_examples as select {quoted} from {relation}{sample}")
    try:
        yield "_send_examples"
    finally:
        con.execute("drop table if exists _send_examples")


def ident(name: str) -> str:
    """A name quoted as an SQL identifier (DuckDB and PostgreSQL alike)."""
    return '"' + name.replace('"', '""') + '"'


def _duckdb_type(arrow_type: pa.DataType) -> str:
    return "INTEGER" if pa.types.is_int32(arrow_type) else "VARCHAR"


def dictionary_csv(dictionary: pa.Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(dictionary.column_names)
    for row in dictionary.to_pylist():
        writer.writerow(["" if value is None else value for value in row.values()])
    return buffer.getvalue()


def dictionary_markdown(dictionary: pa.Table, published_at: str) -> str:
    """A page to read: one section per table, its description, then its columns."""
    rows = dictionary.to_pylist()
    tables = list(dict.fromkeys((r["table_schema"], r["table_name"]) for r in rows))
    lines = [
        "# SEND marts: data dictionary",
        "",
        f"Published {published_at}. Every table in `send.duckdb` (schema.table), the Parquet folder "
        "(schema/table.parquet) and the PostgreSQL reporting schema `send_reporting` (the name after "
        "*PostgreSQL*). Examples come from the published data; none is shown for identifiers, personal "
        "columns or small numbers. Also in `data_dictionary.csv` and the table `marts.data_dictionary`.",
        "",
        "| table | PostgreSQL | columns |",
        "|---|---|---:|",
    ]
    for schema, table in tables:
        count = sum(1 for r in rows if (r["table_schema"], r["table_name"]) == (schema, table))
        lines.append(f"| [{schema}.{table}](#{schema}{table}) | {_postgres_of(rows, schema, table)} | {count} |")
    for schema, table in tables:
        columns = [r for r in rows if (r["table_schema"], r["table_name"]) == (schema, table)]
        lines += [
            "",
            f"## {schema}.{table}",
            "",
            f"*PostgreSQL:* `send_reporting.{columns[0]['postgres_table']}`",
            "",
            _cell(columns[0]["table_description"]),
            "",
            "| column | type | description | example |",
            "|---|---|---|---|",
        ]
        for r in columns:
            example = f"`{_cell(r['example_value'])}`" if r["example_value"] is not None else f"*{r['example_note']}*"
            lines.append(f"| `{r['column_name']}` | {r['data_type']} | {_cell(r['description'])} | {example} |")
    return "\n".join(lines) + "\n"


def _postgres_of(rows: list[dict], schema: str, table: str) -> str:
    name = next(r["postgres_table"] for r in rows if (r["table_schema"], r["table_name"]) == (schema, table))
    return f"`{name}`"


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")
