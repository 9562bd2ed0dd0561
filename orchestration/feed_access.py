"""Information governance around every read of a feed, callable with or without Airflow: consult the IG
register, read what may be read, record what was decided, tell a blocked feed's data owner once.

A source system may carry several agreements (register feeds): the ICB's person-level referrals and
aggregate waiting lists. ops.feed_status keeps one row per agreement; the data owner gets one notice per
source and run naming every blocked agreement of theirs, whether the register blocked it or the source
then refused access. A feed read from one database per LA is all of this per LA (`SourceRun.area_code`):
an LA's own terms in the register, its own row, its own owner notice.

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

from ingestion import registry
from ingestion.privacy import redact
from orchestration import ig_register
from orchestration.failures import FailureClass, classify
from orchestration.settings import DBT_PROJECT_DIR
from warehouse import ledger

log = logging.getLogger(__name__)

# (the blocked agreements of one source and one data owner, the KPIs falling back) -> whether the owner is told.
Notify = Callable[[list[ig_register.Decision], list[str]], bool]


@dataclass(frozen=True)
class SourceRun:
    """One source system (a feed of the registry) read in one run."""

    source: str  # la_case_management, icb_nd_pathway, manual_returns, dfe_ehcp_statistics
    as_of: dt.date
    run_id: str
    area_code: str = ""  # the LA whose database this is, for a feed read per LA (each decided on its own)

    @property
    def feeds(self) -> tuple[str, ...]:
        """Its agreements: the IG register entries decided one by one (`ops.feed_status` rows)."""
        return tuple(a.name for a in registry.feed(self.source).agreements)


def kpis_of(agreement: str, catalogue: Path = DBT_PROJECT_DIR / "seeds" / "kpi_definitions.csv") -> list[str]:
    """Catalogue KPIs computed (or stood in for) under an agreement: what falls back when it is blocked."""
    with catalogue.open() as handle:
        rows = list(csv.DictReader(handle))
    feeds = set(registry.agreements()[agreement][1].kpi_feeds)
    return [r["kpi_code"] for r in rows if r["computing_feed"] in feeds or r["aggregate_feed"] in feeds]


def register_decisions(run: SourceRun) -> tuple[list[str], list[ig_register.Decision]]:
    """Consult the register before touching the source: (the feeds that may be read, the decisions
    blocking the others)."""
    allowed, blocked = [], []
    ig_register.check_covers_registry(ig_register.load_register())
    for feed in run.feeds:
        decision = ig_register.decide(feed, run.as_of, area_code=run.area_code)
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
        source = ig_register.named(run.source, run.area_code)
        reason = f"{source}: access refused at run time ({type(error).__name__}: {redact(error, 200)})"
        entries = {feed: register.entry(feed, run.area_code) for feed in feeds}
        return None, [
            ig_register.Decision(f, False, reason, e.data_owner, e.contact, run.area_code) for f, e in entries.items()
        ]


def block(
    con: duckdb.DuckDBPyConnection, run: SourceRun, decisions: list[ig_register.Decision], notify: Notify
) -> None:
    """Record each blocked agreement in ops.feed_status and tell each data owner once, in one notice."""
    told = tell_owners(decisions, notify)
    for decision in decisions:
        log.warning("feed %s blocked: %s", decision.feed, decision.reason)
        feed, reason, owner = decision.feed, decision.reason, decision.data_owner
        ledger.record_feed(
            con, run.run_id, feed, "blocked", reason, None, owner, feed in told, str(run.as_of), decision.area_code
        )


def tell_owners(decisions: list[ig_register.Decision], notify: Notify) -> set[str]:
    """One notice per data owner (and contact) naming all their blocked agreements of the source and the
    union of the KPIs that fall back; returns the feeds whose owner has been told in this run."""
    by_owner: dict[tuple[str, str, str], list[ig_register.Decision]] = {}
    for decision in decisions:
        by_owner.setdefault((decision.data_owner, decision.contact, decision.area_code), []).append(decision)
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
    area, as_of = run.area_code, str(run.as_of)
    for feed in feeds:
        entry = register.entry(feed, area)
        newest = _newest_data(con, feed, area)
        checked = entry.freshness_limit_days is not None and newest_data_sql(feed) is not None
        decision = ig_register.stale(feed, newest, run.as_of, register, area) if checked else None
        if decision is None or decision.allowed:
            ledger.record_feed(con, run.run_id, feed, "live", "", newest, entry.data_owner, as_of=as_of, area_code=area)
        else:
            stale.append((decision, newest))
    told = tell_owners([decision for decision, _ in stale], notify)
    for decision, newest in stale:
        log.warning("feed %s stale: %s", decision.feed, decision.reason)
        told_owner = decision.feed in told
        ledger.record_feed(
            con,
            run.run_id,
            decision.feed,
            "stale",
            decision.reason,
            newest,
            decision.data_owner,
            told_owner,
            as_of,
            area,
        )


def not_read(con: duckdb.DuckDBPyConnection, run: SourceRun) -> None:
    """A source the run was to read whose extract failed (after its retries; on-call has the alert): each
    of its agreements the run has not decided is recorded blocked, not read in this run, so its KPIs
    after its last read fall back like a blocked feed's. Its data owner is not told: on-call acts."""
    register = ig_register.load_register()
    decided = ledger.decided_feeds(con, run.run_id, run.area_code)
    source = ig_register.named(run.source, run.area_code)
    reason = f"{source}: not read in this run, its extract failed (see the run's alert)"
    for feed in run.feeds:
        if feed in decided:
            continue
        log.warning("feed %s not read: %s", feed, reason)
        owner = register.entry(feed, run.area_code).data_owner
        held = _newest_data(con, feed, run.area_code)  # what its KPIs up to the last read stand on
        ledger.record_feed(con, run.run_id, feed, "blocked", reason, held, owner, False, str(run.as_of), run.area_code)


def newest_data_sql(agreement: str) -> str | None:
    return registry.agreements()[agreement][1].newest_data_sql


def _newest_data(con: duckdb.DuckDBPyConnection, feed: str, area_code: str = "") -> dt.date | None:
    """The newest data the feed holds (of one LA's, for a feed read per LA: its SQL takes `$area`)."""
    sql = newest_data_sql(feed)
    if sql is None:
        return None
    try:
        (newest,) = con.execute(sql, {"area": area_code} if "$area" in sql else None).fetchone()
    except duckdb.CatalogException:  # the feed has never delivered
        return None
    return newest.date() if isinstance(newest, dt.datetime) else newest


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
