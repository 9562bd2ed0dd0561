"""The feed steps every pipeline run takes, callable with or without Airflow: consult the IG register,
read what may be read, record what was decided, tell a blocked feed's data owner once.

A blocked feed (register, expired agreement, access refused at run time, data past its freshness
limit) is not an error of the run: its KPIs fall back (aggregate feed, manual scorecard, missing)
and the run publishes. Transient and other failures are raised for Airflow to retry and alert.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration import ig_register
from orchestration.failures import FailureClass, classify
from orchestration.settings import DBT_PROJECT_DIR
from warehouse import ledger

log = logging.getLogger(__name__)

# Register feed -> the contract table it delivers, for sources that carry several agreements.
FEED_TABLES = {"icb_nd_referrals": "nd_referrals", "icb_nd_waiting_list": "nd_waiting_list"}
# How new a feed's data is, from what raw holds (null when it has delivered nothing yet).
NEWEST_DATA_SQL = {
    "la_case_management": "select max(last_modified_at)::date from raw_la_case_management.ssd_ehcp_requests",
    "icb_nd_referrals": "select max(snapshot_date) from raw_icb_nd_pathway.nd_referrals",
    "icb_nd_waiting_list": "select max(snapshot_date) from raw_icb_nd_pathway.nd_waiting_list",
    "manual_returns": "select max(strptime(period, '%Y-%m'))::date + interval 1 month - interval 1 day "
    "from raw_manual_returns.kpi_scorecard",
}

Notify = Callable[[ig_register.Decision, list[str]], bool]


@dataclass(frozen=True)
class SourceRun:
    """One source system read in one run."""

    source: str  # la_case_management, icb_nd_pathway, manual_returns, dfe_ehcp_statistics
    as_of: dt.date
    run_id: str

    @property
    def feeds(self) -> tuple[str, ...]:
        return ig_register.SOURCE_FEEDS.get(self.source, (self.source,))


def kpis_of(feed: str, catalogue: Path = DBT_PROJECT_DIR / "seeds" / "kpi_definitions.csv") -> list[str]:
    """Catalogue KPIs computed (or stood in for) by a feed: what falls back when it is blocked."""
    with catalogue.open() as handle:
        rows = list(csv.DictReader(handle))
    feeds = {feed} | ({"icb_nd_referrals"} if feed == "icb_nd_pathway" else set())
    return [r["kpi_code"] for r in rows if r["computing_feed"] in feeds or r["aggregate_feed"] in feeds]


def allowed_feeds(con: duckdb.DuckDBPyConnection, run: SourceRun, notify: Notify) -> list[str]:
    """Consult the register before touching the source; record and report every blocked feed."""
    allowed = []
    for feed in run.feeds:
        decision = ig_register.decide(feed, run.as_of)
        if decision.allowed:
            allowed.append(feed)
        else:
            block(con, run, decision, notify)
    return allowed


def read_source(
    con: duckdb.DuckDBPyConnection, run: SourceRun, feeds: list[str], read: Callable[[], Path], notify: Notify
) -> Path | None:
    """Run the source's extract; an access refusal blocks its feeds for this run instead of failing it."""
    try:
        return read()
    except Exception as error:
        if classify(error) is not FailureClass.IG_BLOCKER:
            raise
        for feed in feeds:
            entry = ig_register.load_register().entry(feed)
            reason = f"{run.source}: access refused at run time ({type(error).__name__}: {str(error)[:200]})"
            block(con, run, ig_register.Decision(feed, False, reason, entry.data_owner, entry.contact), notify)
        return None


def block(con: duckdb.DuckDBPyConnection, run: SourceRun, decision: ig_register.Decision, notify: Notify) -> None:
    log.warning("feed %s blocked: %s", decision.feed, decision.reason)
    notified = notify(decision, kpis_of(decision.feed))
    ledger.record_feed(con, run.run_id, decision.feed, "blocked", decision.reason, None, decision.data_owner, notified)


def check_freshness(con: duckdb.DuckDBPyConnection, run: SourceRun, feeds: list[str], notify: Notify) -> None:
    """After loading: a feed whose newest data is older than its freshness limit counts as blocked."""
    register = ig_register.load_register()
    for feed in feeds:
        entry = register.entry(feed)
        newest = _newest_data(con, feed)
        if entry.freshness_limit_days is None or feed not in NEWEST_DATA_SQL:
            ledger.record_feed(con, run.run_id, feed, "live", "", newest, entry.data_owner)
            continue
        decision = ig_register.stale(feed, newest, run.as_of, register)
        if decision.allowed:
            ledger.record_feed(con, run.run_id, feed, "live", "", newest, entry.data_owner)
        else:
            log.warning("feed %s stale: %s", feed, decision.reason)
            notified = notify(decision, kpis_of(feed))
            ledger.record_feed(con, run.run_id, feed, "stale", decision.reason, newest, entry.data_owner, notified)


def _newest_data(con: duckdb.DuckDBPyConnection, feed: str) -> dt.date | None:
    sql = NEWEST_DATA_SQL.get(feed)
    if sql is None:
        return None
    try:
        (newest,) = con.execute(sql).fetchone()
    except duckdb.CatalogException:  # the feed has never delivered
        return None
    return newest.date() if isinstance(newest, dt.datetime) else newest
