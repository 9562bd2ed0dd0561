"""What the scorecard shows, read from the published warehouse only (marts and the published ops tables),
never from the build file. One `Board` per LA and profile: `partnership` reads exact figures
(`marts.kpi_values`), `public` the suppressed profile (`marts.kpi_values_public`) and no free text."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

PROFILES = ("partnership", "public")
TREND_MONTHS = 24
SPARK_MONTHS = 13
PRIORITIES = ("Priority I", "Priority II", "Priority III", "Preparation for Adulthood", "Communication")


@dataclass(frozen=True)
class Point:
    period_start: dt.date
    value: float | None
    numerator: int | None
    denominator: int | None
    provenance: str
    source: str | None
    rag: str | None
    is_suppressed: bool


@dataclass(frozen=True)
class FeedState:
    """A feed as the newest run saw it, and since when it has been so."""

    feed: str
    status: str  # live, blocked, stale
    reason: str
    since: dt.date | None  # first run date of the current blocked/stale streak
    newest_data: dt.date | None
    as_of: dt.date | None
    data_owner: str | None
    owner_notified: bool


@dataclass
class Kpi:
    code: str
    name: str
    priority: str
    definition: str
    numerator_definition: str | None
    denominator_definition: str | None
    unit: str
    direction: str
    target: float | None
    amber: float | None
    computing_feed: str
    aggregate_feed: str | None
    manual_allowed: bool
    owner: str | None
    series: list[Point] = field(default_factory=list)  # TREND_MONTHS months, oldest first, the latest last
    benchmarks: list[dict] = field(default_factory=list)  # DfE comparisons, newest year first
    commentary: list[dict] = field(default_factory=list)  # manual scorecard notes of the latest months

    @property
    def latest(self) -> Point:
        return self.series[-1]

    def months_before(self, months: int) -> Point | None:
        index = len(self.series) - 1 - months
        return self.series[index] if index >= 0 else None


@dataclass
class Board:
    profile: str
    la_code: str
    la_name: str
    region_name: str | None
    latest_month: dt.date
    as_of: dt.date | None
    run_id: str
    refreshed_at: dt.datetime | None
    kpis: list[Kpi]
    coverage: list[dict]  # kpi_coverage rows, oldest first
    feeds: list[FeedState]
    reconciliation: list[dict]
    milestones: list[dict]  # PAP tracker, the latest month, per priority

    def feed(self, name: str) -> FeedState | None:
        return next((f for f in self.feeds if f.feed == name), None)

    def by_priority(self) -> list[tuple[str, list[Kpi]]]:
        found = [p for p in PRIORITIES if any(k.priority == p for k in self.kpis)]
        found += sorted({k.priority for k in self.kpis} - set(found))
        return [(p, [k for k in self.kpis if k.priority == p]) for p in found]


def la_codes(published: Path) -> list[str]:
    with duckdb.connect(str(published), read_only=True) as con:
        return [
            r[0]
            for r in con.execute(
                "select distinct area_code from marts.kpi_values where area_type = 'la' order by 1"
            ).fetchall()
        ]


def read_board(published: Path, la_code: str, profile: str) -> Board:
    if profile not in PROFILES:
        raise ValueError(f"profile {profile!r} is not one of {PROFILES}")
    values = "marts.kpi_values" if profile == "partnership" else "marts.kpi_values_public"
    with duckdb.connect(str(published), read_only=True) as con:
        latest, run_id, refreshed_at = con.execute(
            f"select max(period_start), max(run_id), max(refreshed_at) from {values} where area_code = ?", [la_code]
        ).fetchone()
        if latest is None:
            raise LookupError(f"{published}: {values} has no rows for area {la_code}")
        first = _add_months(latest, -(TREND_MONTHS - 1))
        area = con.execute(
            "select area_name, region_name from marts.dim_area where area_code = ? and area_type = 'la'", [la_code]
        ).fetchone() or (la_code, None)
        kpis = _kpis(con, values, la_code, first, latest)
        if profile == "partnership":
            _attach_commentary(con, kpis, la_code, _add_months(latest, -2))
        _attach_benchmarks(con, kpis, la_code)
        return Board(
            profile=profile,
            la_code=la_code,
            la_name=area[0],
            region_name=area[1],
            latest_month=latest,
            as_of=_as_of(con, run_id),
            run_id=run_id,
            refreshed_at=refreshed_at,
            kpis=kpis,
            coverage=_rows(
                con,
                "select * from marts.kpi_coverage where area_code = ? and period_start between ? and ? "
                "order by period_start",
                [la_code, first, latest],
            ),
            feeds=_feeds(con, la_code),
            reconciliation=_rows(
                con,
                "select r.*, c.kpi_name from marts.kpi_reconciliation r join marts.kpi_catalogue c using (kpi_code) "
                "where r.area_code = ? and r.period_start between ? and ? order by r.period_start desc, r.kpi_code",
                [la_code, first, latest],
            ),
            milestones=_rows(
                con,
                "select * from marts.fct_pap_milestones where period_start = "
                "(select max(period_start) from marts.fct_pap_milestones where period_start <= ?) "
                "order by priority_area",
                [latest],
            ),
        )


def _kpis(con, values: str, la_code: str, first: dt.date, latest: dt.date) -> list[Kpi]:
    catalogue = _rows(con, "select * from marts.kpi_catalogue order by kpi_code", [])
    rows = con.execute(
        f"select kpi_code, period_start, value, numerator, denominator, provenance, source, rag, is_suppressed "
        f"from {values} where area_code = ? and period_start between ? and ? order by kpi_code, period_start",
        [la_code, first, latest],
    ).fetchall()
    series: dict[str, list[Point]] = {}
    for code, *point in rows:
        series.setdefault(code, []).append(Point(*point))
    order = {code: i for i, code in enumerate(_catalogue_order(con))}
    kpis = [
        Kpi(
            code=c["kpi_code"],
            name=c["kpi_name"],
            priority=c["priority_area"],
            definition=c["definition"],
            numerator_definition=c["numerator_definition"],
            denominator_definition=c["denominator_definition"],
            unit=c["unit"],
            direction=c["direction"],
            target=c["target"],
            amber=c["amber_threshold"],
            computing_feed=c["computing_feed"],
            aggregate_feed=c["aggregate_feed"],
            manual_allowed=bool(c["manual_allowed"]),
            owner=c.get("owner"),
            series=_full_months(series.get(c["kpi_code"], []), first, latest),
        )
        for c in catalogue
    ]
    return sorted(kpis, key=lambda k: order.get(k.code, len(order)))


def _catalogue_order(con) -> list[str]:
    """The catalogue's own order (the seed's rows), which groups KPIs as the board reads them."""
    return [r[0] for r in con.execute("select kpi_code from marts.kpi_catalogue").fetchall()]


def _full_months(points: list[Point], first: dt.date, latest: dt.date) -> list[Point]:
    """One point a month; a month without a row (none is expected: missing is a row) reads as missing."""
    by_month = {p.period_start: p for p in points}
    months, month = [], first
    while month <= latest:
        months.append(by_month.get(month) or Point(month, None, None, None, "missing", None, None, False))
        month = _add_months(month, 1)
    return months


def _attach_commentary(con, kpis: list[Kpi], la_code: str, since: dt.date) -> None:
    if not _exists(con, "marts", "fct_kpi_scorecard_notes"):
        return
    notes = _rows(
        con,
        "select kpi_code, period_start, submitted_by, submitted_on, evidence_note from marts.fct_kpi_scorecard_notes "
        "where area_code = ? and period_start >= ? and evidence_note is not null order by period_start desc",
        [la_code, since],
    )
    for kpi in kpis:
        kpi.commentary = [n for n in notes if n["kpi_code"] == kpi.code]


def _attach_benchmarks(con, kpis: list[Kpi], la_code: str) -> None:
    if not _exists(con, "marts", "kpi_benchmarks"):
        return
    rows = _rows(
        con,
        "select b.* from marts.kpi_benchmarks b where b.area_code in "
        "(select area_code from marts.dim_area where area_code = ? or la_code = ?) "
        "order by kpi_code, period_start desc",
        [la_code, la_code],
    )
    for kpi in kpis:
        kpi.benchmarks = [r for r in rows if r["kpi_code"] == kpi.code][:3]


def _feeds(con, la_code: str) -> list[FeedState]:
    """Each feed at the newest run that judged it (for this LA, when it is read per LA), with the first
    run date of its current streak."""
    if not _exists(con, "ops", "feed_status"):
        return []
    by_area = con.execute(
        "select count(*) from information_schema.columns where table_schema = 'ops' "
        "and table_name = 'feed_status' and column_name = 'area_code'"
    ).fetchone()[0]
    this_la = "where area_code in ('', $la)" if by_area else "where $la is not null"  # before feeds per LA
    rows = con.execute(
        f"""
        with ranked as (
            select *, coalesce(as_of, recorded_at::date) as run_date,
                   sum(case when status = 'live' then 1 else 0 end) over (
                       partition by feed order by coalesce(as_of, recorded_at::date) desc, recorded_at desc
                       rows between unbounded preceding and current row) as live_since_here
            from ops.feed_status {this_la}
        ),
        newest as (
            select * from ranked
            qualify row_number() over (partition by feed order by run_date desc, recorded_at desc) = 1
        )
        select n.feed, n.status, n.reason,
               (select min(r.run_date) from ranked r where r.feed = n.feed and r.live_since_here = 0),
               n.newest_data, n.as_of, n.data_owner,
               coalesce((select bool_or(r.owner_notified) from ranked r
                         where r.feed = n.feed and r.live_since_here = 0), false)
        from newest n order by n.feed
        """,
        {"la": la_code},
    ).fetchall()
    return [FeedState(*r) for r in rows]


def _as_of(con, run_id: str) -> dt.date | None:
    if not _exists(con, "ops", "pipeline_runs"):
        return None
    row = con.execute("select logical_date from ops.pipeline_runs where run_id = ?", [run_id]).fetchone()
    return row[0] if row else None


def _exists(con, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchone()[0]
    )


def _rows(con, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)
