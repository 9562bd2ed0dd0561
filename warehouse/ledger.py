"""The run ledger (`ops.pipeline_runs`): what each run read, which feeds were live, whether it published."""

from __future__ import annotations

import json

import duckdb

FEED_STATUS_DDL = """
create table if not exists ops.feed_status (
    run_id varchar, feed varchar, area_code varchar default '', status varchar, reason varchar,
    newest_data date, data_owner varchar, owner_notified boolean, recorded_at timestamptz, as_of date,
    primary key (run_id, feed, area_code)
);
"""
LEDGER_DDL = f"""
create schema if not exists ops;
create table if not exists ops.pipeline_runs (
    run_id varchar primary key, logical_date date, status varchar, feeds varchar,
    rows_read bigint, checks_run bigint, checks_failed bigint, recorded_at timestamptz
);
{FEED_STATUS_DDL}-- The run's as-of date: how far a feed's data reaches (live: the run's date; stale: its newest data),
-- which the dbt coverage of a feed without monthly files reads (int_feed_periods__*).
alter table ops.feed_status add column if not exists as_of date;
"""
# A feed read per LA (one database each) is decided per area: one LA blocked, the others read. '' for a
# feed read once for every area. A ledger from before areas is rebuilt with '' in every row, keyed anew.
FEED_STATUS_BY_AREA = f"""
alter table ops.feed_status add column if not exists area_code varchar default '';
create table ops.feed_status_by_area as select * replace (coalesce(area_code, '') as area_code) from ops.feed_status;
drop table ops.feed_status;
{FEED_STATUS_DDL}insert into ops.feed_status by name select * from ops.feed_status_by_area;
drop table ops.feed_status_by_area;
"""
# blocked: not read (IG register, access refused, the read failed); stale: read, but too old
FEED_STATUSES = ("live", "blocked", "stale")


def record_feed(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    feed: str,
    status: str,
    reason: str = "",
    newest_data: str | None = None,
    data_owner: str | None = None,
    owner_notified: bool = False,
    as_of: str | None = None,
    area_code: str = "",
) -> None:
    """What a run (as of `as_of`) decided about a feed, for one LA (`area_code`) when the feed is read per
    LA: read (live), not read (blocked) or read but too old (stale)."""
    if status not in FEED_STATUSES:
        raise ValueError(f"feed status {status!r} is not one of {FEED_STATUSES}")
    ensure_ledger(con)
    con.execute(
        "insert or replace into ops.feed_status (run_id, feed, area_code, status, reason, newest_data, "
        "data_owner, owner_notified, recorded_at, as_of) values (?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
        [run_id, feed, area_code, status, reason, newest_data, data_owner, owner_notified, as_of],
    )


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """The ledger tables, feed_status keyed by area (an older ledger's rows kept, for every area)."""
    con.execute(LEDGER_DDL)
    keyed = con.execute(
        "select count(*) from duckdb_constraints() where schema_name = 'ops' and table_name = 'feed_status' "
        "and constraint_type = 'PRIMARY KEY' and list_contains(constraint_column_names, 'area_code')"
    ).fetchone()[0]
    if not keyed:
        con.execute(FEED_STATUS_BY_AREA)


def record_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    logical_date: str,
    status: str,
    checks_run: int,
    checks_failed: int,
) -> None:
    """Upsert the run's ledger row; feeds and rows read come from the batches this run loaded."""
    ensure_ledger(con)
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
    decided = con.execute(
        "select feed, area_code, status, reason, newest_data from ops.feed_status where run_id = ? "
        "order by feed, area_code",
        [run_id],
    ).fetchall()
    for feed, area, feed_status, reason, newest in decided:
        entry = feeds.setdefault(feed, {"rows_in": 0, "rows_loaded": 0, "rows_rejected": 0})
        decision = {"status": feed_status, "reason": reason, "newest_data": newest and newest.isoformat()}
        if area:  # a feed read per LA: each LA's decision, and the feed's status when they agree
            entry.setdefault("areas", {})[area] = decision
            statuses = {d["status"] for d in entry["areas"].values()}
            entry["status"] = statuses.pop() if len(statuses) == 1 else "mixed"
        else:
            entry.update(decision)
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


def newer_publication(con: duckdb.DuckDBPyConnection, as_of: str) -> str | None:
    """The as-of date of a publication newer than `as_of`, if any: a rerun of a past date (a backfill,
    a cleared run) never takes the published marts back in time, it is `superseded`."""
    if not has_ops_table(con, "pipeline_runs"):
        return None
    (newest,) = con.execute("select max(logical_date) from ops.pipeline_runs where status = 'published'").fetchone()
    return newest.isoformat() if newest is not None and newest.isoformat() > as_of else None


def blocked_feeds(con: duckdb.DuckDBPyConnection, run_id: str, area_code: str = "") -> set[str]:
    """The agreements the run recorded as blocked (not read), for every area or for `area_code`'s."""
    return decided_feeds(con, run_id, area_code, status="blocked")


def decided_feeds(
    con: duckdb.DuckDBPyConnection, run_id: str, area_code: str = "", status: str | None = None
) -> set[str]:
    """The agreements the run decided (any status, or `status`), for every area or for `area_code`'s."""
    if not has_ops_table(con, "feed_status"):
        return set()
    ensure_ledger(con)
    rows = con.execute(
        "select feed from ops.feed_status where run_id = ? and area_code in ('', ?) and status = coalesce(?, status)",
        [run_id, area_code, status],
    )
    return {feed for (feed,) in rows.fetchall()}
