"""The pipeline's steps as plain functions with explicit arguments: extract, load, plan the dbt build,
verify, publish, and the board scorecard built from what was published.

The DAG's tasks wrap them (orchestration/tasks.py: the Airflow context in, a manifest path or a
summary out) and the benchmark calls them directly (bench/pipeline.py), so a fix lands in both. No
Airflow import here. Every step opens the build warehouse itself and closes it before it returns:
one writer at a time (the `send_warehouse` pool), and nothing holds the file between tasks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from ingestion import registry
from ingestion.feed import ReadRequest
from orchestration import feed_access
from orchestration.feed_access import Notify, SourceRun
from orchestration.settings import Settings


def extract(
    feed_name: str,
    run: SourceRun,
    settings: Settings,
    key: bytes,
    notify: Notify,
    *,
    location: str | None = None,
) -> Path | None:
    """Land what may be read of a feed: the IG register first (a blocked agreement's owner told once),
    then the feed's own read. `location`: a database feed's SQLAlchemy URL (required; one LA's database,
    `run.area_code`), a file feed's inbox (default: its folder in `settings`). Returns the manifest path
    (never data), or None when nothing could be read."""
    from ingestion import load

    feed = registry.feed(feed_name)
    if feed.kind == "database" and not location:
        raise ValueError(f"{feed.name}: a database feed is read from a SQLAlchemy URL; none given")
    settings.build_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.build_path)) as con:

        def reader(allowed: list[str]) -> Callable[[], Path]:
            where = location or str(_inbox(feed.name, settings))
            request = ReadRequest(
                feed=feed,
                location=where,
                landing_dir=settings.landing_dir,
                key=key,
                run_id=run.run_id,
                as_of=run.as_of,
                known=load.known(con, feed.name, run.area_code),
                tables=feed.tables_of(allowed),
                area_code=run.area_code,
                settle_seconds=settings.inbox_settle_seconds,
            )
            read = feed.reader()
            return lambda: read(request)

        return feed_access.extract_source(con, run, reader, notify)


def _inbox(feed: str, settings: Settings) -> Path:
    inbox = settings.inbox(feed)
    if not inbox.exists() and inbox.is_relative_to(settings.data_dir):
        inbox.mkdir(parents=True)  # the embedded layout makes its own folders; a real mount must exist
    return inbox


def load(
    feed_name: str,
    run: SourceRun,
    settings: Settings,
    manifests: list[Path],
    notify: Notify,
    *,
    areas: Sequence[str] = (),
) -> int:
    """Load the landed batches into raw (idempotent per batch; a blocked feed still gets its typed, empty
    raw tables), then judge the freshness of each agreement that was read: per LA for a feed read per LA
    (each manifest names its LA). `areas`: every LA the run was to read; one with no manifest and no
    decision (its extract failed) is recorded as not read, so its KPIs after its last read fall back
    instead of being computed from incomplete data. Returns rows loaded."""
    import dataclasses

    from ingestion import landing
    from ingestion import load as loading
    from warehouse import ledger

    settings.build_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.build_path)) as con:
        loading.ensure_raw_tables(con, feed_name)
        rows = loading.load_batches(con, manifests)  # one insert per raw table for every LA's batch
        per_area = registry.feed(feed_name).kind == "database"
        read = sorted({landing.read_manifest(m).area_code for m in manifests}) if per_area else [""]
        for area in read:
            area_run = dataclasses.replace(run, area_code=area)
            blocked = ledger.blocked_feeds(con, run.run_id, area)
            feed_access.check_freshness(con, area_run, [a for a in run.feeds if a not in blocked], notify)
        for area in sorted(set(areas) - set(read)):
            feed_access.not_read(con, dataclasses.replace(run, area_code=area))
    return rows


def plan_build(settings: Settings, run_id: str, as_of: dt.date, whole: bool = False) -> dict:
    """What the dbt build selects this run (orchestration/build_plan.py): {"plan_id", "select", "reason"};
    `whole`: the whole project whatever changed."""
    from orchestration import build_plan
    from orchestration.settings import DBT_PROJECT_DIR

    settings.build_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.build_path)) as con:
        planned = build_plan.plan(con, run_id, as_of, DBT_PROJECT_DIR, whole)
    return {"plan_id": planned.plan_id, "select": planned.select, "reason": planned.reason}


def verify(settings: Settings, run_id: str, as_of: dt.date) -> dict:
    """The Soda gate on the build warehouse (dbt's tests ran in its build). A blocking failure is
    recorded in the run ledger (`failed_quality`) and raised: nothing is published."""
    from warehouse import ledger, quality

    with duckdb.connect(str(settings.build_path)) as con:
        try:
            results = quality.gate(con, settings.soda_contracts_dir, run_id, as_of.isoformat())
        except quality.DataQualityError as error:
            failed = len(error.failed)
            ledger.record_run(con, run_id, as_of.isoformat(), "failed_quality", error.checked, failed)
            raise
    return {"checks": len(results), "warned": sum(r.outcome == "warned" for r in results)}


def publish(settings: Settings, run_id: str, as_of: dt.date, checks: int, reporting_url: str | None) -> dict:
    """Copy the checked marts to every target (DuckDB file, Parquet, PostgreSQL when `reporting_url`), each
    table and column described from the dbt docs, the data dictionary beside them, and return what was
    published; or, when a newer as-of date is published already, record the run `superseded`, leave the
    published marts as they are and return {"superseded_by": that date}."""
    from orchestration.settings import DBT_PROJECT_DIR
    from warehouse import ledger
    from warehouse.publish import DICTIONARY_FILES, Targets
    from warehouse.publish import publish as publish_marts

    run = (run_id, as_of.isoformat())
    with duckdb.connect(str(settings.build_path)) as con:
        newer = ledger.newer_publication(con, as_of.isoformat())
        if newer:
            ledger.record_run(con, *run, "superseded", checks_run=checks, checks_failed=0)
            return {"superseded_by": newer}
        # Recorded first so the published copy carries its own ledger row; undone if publishing fails.
        ledger.record_run(con, *run, "published", checks_run=checks, checks_failed=0)
        targets = Targets(
            settings.published_path,
            settings.parquet_dir,
            reporting_url,
            manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json",  # the marts' descriptions (dbt docs)
            postgres_reader_role=settings.reporting_reader_role,
        )
        try:
            counts = publish_marts(con, targets)
        except Exception:
            ledger.record_run(con, *run, "publish_failed", checks_run=checks, checks_failed=0)
            raise
    return {
        "duckdb": str(targets.duckdb_path),
        "parquet": str(targets.parquet_dir),
        "postgres": bool(targets.postgres_url),
        "postgres_schema": targets.postgres_schema if targets.postgres_url else None,
        "data_dictionary": [str(targets.duckdb_path.parent / name) for name in DICTIONARY_FILES],
        "tables": counts,
    }


def build_scorecard(settings: Settings) -> dict:
    """The board scorecard (pages and PDF board packs) from the published warehouse. Any failure is a
    ScorecardBuildError (alert class `scorecard`): the marts are published whatever happens here."""
    from scorecard.errors import ScorecardBuildError

    try:
        from scorecard.site import build

        built = build(settings.published_path, settings.scorecard_dir, pdf=settings.scorecard_pdf)
    except ScorecardBuildError:
        raise
    except Exception as error:
        raise ScorecardBuildError(f"scorecard: {type(error).__name__}: {error}") from error
    return {"site": str(built.site / "index.html"), "pages": built.pages, "pdfs": built.pdfs,
            "seconds": round(built.seconds, 1)}  # fmt: skip
