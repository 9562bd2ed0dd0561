"""The feed steps every pipeline run takes, callable with or without Airflow: consult the IG register,
read what may be read, record what was decided, tell a blocked feed's data owner once.

A source system may carry several agreements (register feeds): the ICB's person-level referrals and
aggregate waiting lists. ops.feed_status keeps one row per agreement; the data owner gets one notice per
source and run naming every blocked agreement of theirs, whether the register blocked it or the source
then refused access.

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

from ingestion.privacy import redact
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

# (the blocked agreements of one source and one data owner, the KPIs falling back) -> whether the owner is told.
Notify = Callable[[list[ig_register.Decision], list[str]], bool]


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


def register_decisions(run: SourceRun) -> tuple[list[str], list[ig_register.Decision]]:
    """Consult the register before touching the source: (the feeds that may be read, the decisions
    blocking the others)."""
    allowed, blocked = [], []
    for feed in run.feeds:
        decision = ig_register.decide(feed, run.as_of)
        if decision.allowed:
            allowed.append(feed)
        else:
            blocked.append(decision)
    return allowed, blocked


def allowed_feeds(con: duckdb.DuckDBPyConnection, run: SourceRun, notify: Notify) -> list[str]:
    """Consult the register; record the blocked feeds and tell their owners (one notice per owner)."""
    allowed, blocked = register_decisions(run)
    block(con, run, blocked, notify)
    return allowed


def read_source(
    run: SourceRun, feeds: list[str], read: Callable[[], Path]
) -> tuple[Path | None, list[ig_register.Decision]]:
    """Run the source's extract: (its manifest, no decisions), or on an access refusal (None, a decision
    blocking each of `feeds`) instead of failing the run. Other failures are raised."""
    try:
        return read(), []
    except Exception as error:
        if classify(error) is not FailureClass.IG_BLOCKER:
            raise
        register = ig_register.load_register()
        # The driver's message is foreign text (it may quote a path, a login or a value): redacted.
        reason = f"{run.source}: access refused at run time ({type(error).__name__}: {redact(error, 200)})"
        entries = {feed: register.entry(feed) for feed in feeds}
        return None, [ig_register.Decision(f, False, reason, e.data_owner, e.contact) for f, e in entries.items()]


def block(
    con: duckdb.DuckDBPyConnection, run: SourceRun, decisions: list[ig_register.Decision], notify: Notify
) -> None:
    """Record each blocked agreement in ops.feed_status and tell each data owner once, in one notice."""
    told = tell_owners(decisions, notify)
    for decision in decisions:
        log.warning("feed %s blocked: %s", decision.feed, decision.reason)
        feed, reason, owner = decision.feed, decision.reason, decision.data_owner
        ledger.record_feed(con, run.run_id, feed, "blocked", reason, None, owner, feed in told)


def tell_owners(decisions: list[ig_register.Decision], notify: Notify) -> set[str]:
    """One notice per data owner (and contact) naming all their blocked agreements of the source and the
    union of the KPIs that fall back; returns the feeds whose owner has been told in this run."""
    by_owner: dict[tuple[str, str], list[ig_register.Decision]] = {}
    for decision in decisions:
        by_owner.setdefault((decision.data_owner, decision.contact), []).append(decision)
    told: set[str] = set()
    for owned in by_owner.values():
        kpis = list(dict.fromkeys(kpi for decision in owned for kpi in kpis_of(decision.feed)))
        if notify(owned, kpis):
            told |= {decision.feed for decision in owned}
    return told


def check_freshness(con: duckdb.DuckDBPyConnection, run: SourceRun, feeds: list[str], notify: Notify) -> None:
    """After loading: a feed whose newest data is older than its freshness limit counts as blocked."""
    register = ig_register.load_register()
    stale: list[tuple[ig_register.Decision, dt.date | None]] = []
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
            stale.append((decision, newest))
    told = tell_owners([decision for decision, _ in stale], notify)
    for decision, newest in stale:
        log.warning("feed %s stale: %s", decision.feed, decision.reason)
        ledger.record_feed(
            con, run.run_id, decision.feed, "stale", decision.reason, newest, decision.data_owner, decision.feed in told
        )


def _newest_data(con: duckdb.DuckDBPyConnection, feed: str) -> dt.date | None:
    sql = NEWEST_DATA_SQL.get(feed)
    if sql is None:
        return None
    try:
        (newest,) = con.execute(sql).fetchone()
    except duckdb.CatalogException:  # the feed has never delivered
        return None
    return newest.date() if isinstance(newest, dt.datetime) else newest


# --- The DAG's extract and load tasks (one pair per source system) --------------------------------

SOURCES = ("la_case_management", "icb_nd_pathway", "manual_returns", "dfe_ehcp_statistics")


def extract_task(source: str) -> str | None:
    """Land what may be read of a source; returns the manifest path (never data: nothing personal in
    XCom), or None when every feed of the source is blocked for this run."""
    from airflow.sdk import get_current_context

    from ingestion import load
    from orchestration import connections, dag_defaults
    from orchestration.settings import Settings

    context = get_current_context()
    settings = Settings.from_env()
    run = SourceRun(source, dt.date.fromisoformat(dag_defaults.as_of(context)), context["run_id"])
    settings.build_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.build_path)) as con:

        def reader(allowed: list[str]) -> Callable[[], Path]:
            key = connections.pseudonymisation_key()
            if source == "la_case_management":
                return _la_reader(con, settings, key, run)
            inbox = settings.inbox(source)
            if not inbox.exists() and inbox.is_relative_to(settings.data_dir):
                inbox.mkdir(parents=True)  # the embedded layout makes its own folders; a real mount must exist
            module = _file_feed(source)
            seen, names = load.loaded_file_checksums(con, source), load.loaded_file_names(con, source)
            tables = [FEED_TABLES[f] for f in allowed] if source in ig_register.SOURCE_FEEDS else None
            return lambda: module.intake(
                inbox, settings.landing_dir, key, run.run_id, seen, names, tables, settings.inbox_settle_seconds
            )

        manifest = extract_source(con, run, reader, _notifier(context))
    return None if manifest is None else str(manifest)


def extract_source(
    con: duckdb.DuckDBPyConnection, run: SourceRun, reader: Callable[[list[str]], Callable[[], Path]], notify: Notify
) -> Path | None:
    """Consult the register, read the feeds it allows (`reader(allowed)` makes the read), then record and
    report everything blocked on the way in one go: a data owner gets one notice naming every blocked
    agreement, whether the register blocked it or the source refused access, even when the read then
    fails for another reason. Returns the manifest, or None when nothing could be read."""
    allowed, blocked = register_decisions(run)
    try:
        if not allowed:
            return None
        manifest, refused = read_source(run, allowed, reader(allowed))
        blocked += refused
        return manifest
    finally:
        block(con, run, blocked, notify)


def load_task(source: str, manifest_path: str | None) -> int:
    """Load the landed batch into raw (idempotent per batch), then judge each read feed's freshness."""
    from airflow.sdk import get_current_context

    from ingestion import load
    from orchestration import dag_defaults
    from orchestration.settings import Settings

    context = get_current_context()
    settings = Settings.from_env()
    run = SourceRun(source, dt.date.fromisoformat(dag_defaults.as_of(context)), context["run_id"])
    settings.build_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.build_path)) as con:
        load.ensure_raw_tables(con, source)
        rows = load.load_batch(con, Path(manifest_path)) if manifest_path else 0
        blocked = {
            feed
            for (feed,) in con.execute(
                "select feed from ops.feed_status where run_id = ? and status = 'blocked'", [run.run_id]
            ).fetchall()
        } if ledger.has_ops_table(con, "feed_status") else set()  # fmt: skip
        check_freshness(con, run, [f for f in run.feeds if f not in blocked], _notifier(context))
    return rows


def _notifier(context) -> Notify:
    from orchestration import alerts

    return lambda decisions, kpis: alerts.notify_owner(decisions, context, kpis)


def _la_reader(con, settings, key: bytes, run: SourceRun) -> Callable[[], Path]:
    from airflow.sdk import BaseHook

    from ingestion import load
    from ingestion.la_case_management import extract
    from orchestration import connections

    conn = BaseHook.get_connection(connections.LA_CASE_MANAGEMENT_CONN_ID)
    area_code = conn.extra_dejson.get("area_code", "E10000017")
    watermarks = load.watermarks(con, extract.FEED, area_code)
    last_full = load.last_full_reconciliation(con, extract.FEED, area_code)

    def read() -> Path:
        return extract.extract(
            connections.sqlalchemy_url(conn),
            area_code,
            settings.landing_dir,
            key,
            run_id=run.run_id,
            watermarks=watermarks,
            last_full_at=last_full,
            as_of=run.as_of,
        )

    return read


def _file_feed(source: str):
    import importlib

    return importlib.import_module(f"ingestion.{source}")
