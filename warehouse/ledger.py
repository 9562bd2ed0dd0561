"""The run ledger (`ops.pipeline_runs`): what each run read, which feeds were live, whether it published."""

from __future__ import annotations

import json

import duckdb

LEDGER_DDL = """
create schema if not exists ops;
create table if not exists ops.pipeline_runs (
    run_id varchar primary key, logical_date date, status varchar, feeds varchar,
    rows_read bigint, checks_run bigint, checks_failed bigint, recorded_at timestamptz
);
"""


def record_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    logical_date: str,
    status: str,
    checks_run: int,
    checks_failed: int,
) -> None:
    """Upsert the run's ledger row; feeds and rows read come from the batches this run loaded."""
    con.execute(LEDGER_DDL)
    batches = (
        con.execute(
            "select feed, sum(rows_in), sum(rows_loaded), sum(rows_rejected) from ops.loaded_batches "
            "where run_id = ? group by feed",
            [run_id],
        ).fetchall()
        if has_ops_table(con, "loaded_batches")
        else []
    )
    feeds = {
        feed: {"status": "live", "rows_in": rin, "rows_loaded": rl, "rows_rejected": rr}
        for feed, rin, rl, rr in batches
    }
    con.execute(
        "insert or replace into ops.pipeline_runs values (?, ?, ?, ?, ?, ?, ?, now())",
        [
            run_id,
            logical_date,
            status,
            json.dumps(feeds),
            sum(int(f["rows_in"]) for f in feeds.values()),
            checks_run,
            checks_failed,
        ],
    )


def has_ops_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = 'ops' and table_name = ?",
            [table],
        ).fetchone()[0]
    )
