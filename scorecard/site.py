"""Render the scorecard: pages per LA and profile, charts, the PDF board pack, then switch the published
site to the new version in one step (readers of the old one never see a half-written site)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import jinja2

from scorecard import charts
from scorecard.data import PROFILES, Board, Kpi, Point, la_codes, read_board
from scorecard.errors import ScorecardBuildError
from warehouse.publish import switch_symlink

HERE = Path(__file__).parent
VERSIONS_KEPT = 2
PAGES = (  # file, title, section template
    ("index.html", "Overview", "overview"),
    ("exceptions.html", "Exception report", "exceptions"),
    ("confidence.html", "Data confidence", "confidence"),
    ("definitions.html", "Definitions", "definitions"),
)
PROVENANCE_LABEL = {
    "feed": "Automated feed",
    "aggregate_feed": "Aggregate feed",
    "manual": "Manual scorecard",
    "missing": "Missing",
}
TRACKER_PRIORITY = {  # the milestone tracker's codes, as the catalogue names the priorities
    "PRIORITY_I": "Priority I",
    "PRIORITY_II": "Priority II",
    "PRIORITY_III": "Priority III",
    "PFA": "Preparation for Adulthood",
    "COMMUNICATION": "Communication",
}
RAG_LABEL = {"green": "On target", "amber": "Close to target", "red": "Off target"}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


@dataclass(frozen=True)
class Built:
    site: Path  # the published site (a symlink to the version just built)
    pages: int
    pdfs: int
    seconds: float


def build(published: Path, site: Path, pdf: bool = True, profiles: tuple[str, ...] = PROFILES) -> Built:
    """Build every LA's scorecard in every profile from a published DuckDB file into `site`."""
    started = time.perf_counter()
    if not published.exists():
        raise ScorecardBuildError(f"no published warehouse at {published}")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = site.parent / f"{site.name}.versions" / stamp
    folder.mkdir(parents=True)
    try:
        editions, packs = [], []
        for la_code in la_codes(published):
            for profile in profiles:
                board = read_board(published, la_code, profile)
                out = folder / profile / la_code
                editions.append((board, write_edition(board, out, pdf=pdf)))
                packs.append((out / "board-pack.html", out / "board-pack.pdf"))
        if pdf:
            print_pdfs(packs)
        _render(_environment(), "home.html.j2", folder / "index.html", editions=editions, pdf=pdf)
        shutil.copy(HERE / "static" / "scorecard.css", folder / "scorecard.css")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _switch(site, folder)
    return Built(site, sum(len(p) for _, p in editions) + 1, len(editions) if pdf else 0,
                 time.perf_counter() - started)  # fmt: skip


def write_edition(board: Board, out: Path, pdf: bool = True) -> list[str]:
    """One LA's pages in one profile, charts beside them; the file names written."""
    (out / "charts").mkdir(parents=True, exist_ok=True)
    for kpi in board.kpis:
        (out / "charts" / f"{kpi.code}-spark.svg").write_text(charts.sparkline(kpi.series[-13:]))
        (out / "charts" / f"{kpi.code}-trend.svg").write_text(charts.trend(kpi))
    if board.coverage:
        (out / "charts" / "automation.svg").write_text(charts.automation(board.coverage))
    shutil.copy(HERE / "static" / "scorecard.css", out / "scorecard.css")
    env = _environment()
    pages = [*((f, t, s) for f, t, s in PAGES), *((priority_file(p), p, "priority") for p, _ in board.by_priority())]
    nav = [(f, t) for f, t, _ in pages]
    for file, title, section in pages:
        _render(env, "page.html.j2", out / file, board=board, title=title, section=section, nav=nav,
                current=file, pack=False, priority=title, pdf=pdf)  # fmt: skip
    _render(env, "board_pack.html.j2", out / "board-pack.html", board=board, pages=pages, nav=nav, pack=True, pdf=pdf)
    return [file for file, _, _ in pages] + ["board-pack.html"]


def priority_file(priority: str) -> str:
    return priority.lower().replace(" ", "-") + ".html"


def print_pdfs(packs: list[tuple[Path, Path]]) -> None:
    """Each board pack through headless Chromium's print engine (the print stylesheet applies), as many
    side by side as there are cores: one browser process each, on its own throwaway profile."""
    width = max(1, os.cpu_count() or 1)
    for start in range(0, len(packs), width):
        _print_batch(chromium(), packs[start : start + width])


def _print_batch(browser: str, packs: list[tuple[Path, Path]]) -> None:
    with tempfile.TemporaryDirectory(prefix="scorecard-chromium-") as profiles:
        running = []
        for index, (page, pdf) in enumerate(packs):
            args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                    "--disable-background-networking", "--disable-component-update",
                    f"--user-data-dir={Path(profiles) / str(index)}", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.resolve().as_uri()]  # fmt: skip
            running.append((page, pdf, subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
        try:
            for page, pdf, process in running:
                try:
                    _, stderr = process.communicate(timeout=300)
                except subprocess.TimeoutExpired:
                    raise ScorecardBuildError(f"Chromium did not print {page} within 300 s") from None
                if process.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
                    tail = stderr.decode(errors="replace")[-300:]
                    code = process.returncode
                    raise ScorecardBuildError(f"Chromium could not print {page.name}: exit {code}, {tail}")
        finally:  # one failed: the others' output is not used
            for _, _, process in running:
                if process.poll() is None:
                    process.kill()
                    process.wait()


def chromium() -> str:
    configured = os.environ.get("SEND_CHROMIUM")
    found = configured or next((shutil.which(n) for n in CHROMIUM_NAMES if shutil.which(n)), None)
    if not found:
        raise ScorecardBuildError(
            "no Chromium to print the board pack (install Debian's chromium, set SEND_CHROMIUM, or build with --no-pdf)"
        )
    return found


# --- presentation ---------------------------------------------------------------------------------------


def value_text(kpi: Kpi, point: Point | None) -> str:
    if point is None:
        return "no month to compare"
    if point.is_suppressed and point.value is None:
        return "suppressed (small number)"
    if point.value is None:
        return "missing"
    return _with_unit(kpi.unit, point.value)


def target_text(kpi: Kpi) -> str:
    if kpi.target is None:
        return "no target" if kpi.direction != "none" else "context figure, no target"
    word = {"higher_is_better": "at least", "lower_is_better": "at most"}.get(kpi.direction, "")
    return f"{word} {_with_unit(kpi.unit, kpi.target)}".strip()


def rag_text(kpi: Kpi, point: Point) -> str:
    if point.rag:
        return RAG_LABEL[point.rag]
    if point.value is None:
        return "No rating"
    return "No target" if kpi.direction == "none" or kpi.target is None else "No rating"


def travel(kpi: Kpi, months: int, label: str) -> str:
    """'Up 2.1 points on Oct 2026 (better)'; a change against a missing month says so."""
    now, then = kpi.latest, kpi.months_before(months)
    if then is None or now.value is None or then.value is None:
        return f"No comparison with {label}" + (
            "" if then is None else f" ({then.period_start:%b %Y}: {value_text(kpi, then)})"
        )
    change = now.value - then.value
    if abs(change) < 1e-9:
        return f"No change on {then.period_start:%b %Y}"
    size = {"percent": f"{abs(change):.1f} points", "weeks": f"{abs(change):.1f} weeks"}.get(
        kpi.unit, f"{abs(change):,.0f}"
    )
    judged = ""
    if kpi.direction in ("higher_is_better", "lower_is_better"):
        better = (change > 0) == (kpi.direction == "higher_is_better")
        judged = " (better)" if better else " (worse)"
    return f"{'Up' if change > 0 else 'Down'} {size} on {then.period_start:%b %Y}{judged}"


def arrow(kpi: Kpi, months: int) -> str:
    now, then = kpi.latest, kpi.months_before(months)
    if then is None or now.value is None or then.value is None or abs(now.value - then.value) < 1e-9:
        return "→"
    return "↑" if now.value > then.value else "↓"


def provenance_text(board: Board, kpi: Kpi, point: Point) -> str:
    """Where the value came from and how current that source is; for a missing value, why."""
    label = PROVENANCE_LABEL.get(point.provenance, point.provenance)
    if point.provenance == "manual":
        return f"{label}: submitted for {point.period_start:%B %Y} ({point.source or 'kpi_scorecard'})"
    feed_name = point.source or kpi.computing_feed
    if point.provenance in ("feed", "aggregate_feed"):
        feed = board.feed(feed_name)
        reach = (feed.as_of or feed.newest_data) if feed else None
        return f"{label}: {feed_name}" + (f", data as of {reach:%d %b %Y}" if reach else "")
    return f"{label}: {why_missing(board, kpi)}"


def why_missing(board: Board, kpi: Kpi) -> str:
    if kpi.computing_feed == "platform":
        return "the platform has no run to measure for this month"
    feed = board.feed(kpi.computing_feed)
    fallback = (
        " and no manual scorecard was submitted" if kpi.manual_allowed else " and no manual scorecard may stand in"
    )
    if feed is None:
        return f"{kpi.computing_feed} has never been read{fallback}"
    if feed.status == "live":
        return f"{kpi.computing_feed} sent no figure for {kpi.latest.period_start:%B %Y}{fallback}"
    since = f" since {feed.since:%d %b %Y}" if feed.since else ""
    told = "; data owner told" if feed.owner_notified else ""
    return f"{kpi.computing_feed} {feed.status}{since} ({feed.reason}){fallback}{told}"


def red_months(kpi: Kpi) -> int:
    count = 0
    for point in reversed(kpi.series):
        if point.rag != "red":
            break
        count += 1
    return count


def amber_text(kpi: Kpi) -> str:
    return _with_unit(kpi.unit, kpi.amber)


def spark_alt(kpi: Kpi) -> str:
    points = [p for p in kpi.series[-13:] if p.value is not None]
    if not points:
        return f"{kpi.name}: no values in the last 13 months"
    first, last = points[0], points[-1]
    return (f"{kpi.name}, 13-month trend: {value_text(kpi, first)} in {first.period_start:%b %Y}, "
            f"{value_text(kpi, last)} in {last.period_start:%b %Y}")  # fmt: skip


def trend_alt(kpi: Kpi) -> str:
    known = [p for p in kpi.series if p.value is not None]
    gaps = len(kpi.series) - len(known)
    manual = sum(p.provenance == "manual" for p in kpi.series)
    if not known:
        return f"{kpi.name}: no values in the last {len(kpi.series)} months"
    low = min(known, key=lambda p: p.value)
    high = max(known, key=lambda p: p.value)
    text = (
        f"{kpi.name} over {len(kpi.series)} months: lowest {value_text(kpi, low)} ({low.period_start:%b %Y}), "
        f"highest {value_text(kpi, high)} ({high.period_start:%b %Y}), latest {value_text(kpi, kpi.latest)}"
    )
    if kpi.target is not None:
        text += f"; target {target_text(kpi)}"
    if manual:
        text += f"; {manual} months from a manual scorecard"
    if gaps:
        text += f"; {gaps} months without a value"
    return text + "."


def automation_alt(board: Board) -> str:
    first, last = board.coverage[0], board.coverage[-1]
    return (
        f"Share of KPIs automated: {first['pct_automated']:.1f}% in {first['period_start']:%b %Y}, "
        f"{last['pct_automated']:.1f}% in {last['period_start']:%b %Y}; the partnership's goal is 80%."
    )


def href(pack: bool, page: str, anchor: str = "") -> str:
    """A link to a page (or a place on it); in the one-file board pack, to its section."""
    if pack:
        return "#" + (anchor or page.removesuffix(".html"))
    return page + (f"#{anchor}" if anchor else "")


def bench(row: dict, column: str) -> str:
    value = row.get(column)
    if value is None:
        return "not published"
    return f"{value:.1f}%" if row.get("unit") == "percent" else f"{value:,.0f}"


def _num(value) -> str:
    return "" if value is None else f"{value:,.1f}".removesuffix(".0")


def _with_unit(unit: str, value: float) -> str:
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "weeks":
        return f"{value:.1f} weeks"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _count(value) -> str:
    return "" if value is None else f"{value:,}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        value_text=value_text,
        target_text=target_text,
        rag_text=rag_text,
        travel=travel,
        arrow=arrow,
        provenance_text=provenance_text,
        why_missing=why_missing,
        red_months=red_months,
        priority_file=priority_file,
        provenance_label=PROVENANCE_LABEL,
        tracker_priority=TRACKER_PRIORITY,
        count=_count,
        amber_text=amber_text,
        spark_alt=spark_alt,
        trend_alt=trend_alt,
        automation_alt=automation_alt,
        href=href,
        bench=bench,
        num=_num,
    )
    return env


def _render(env: jinja2.Environment, template: str, path: Path, **context) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(env.get_template(template).render(**context))


def _switch(site: Path, folder: Path) -> None:
    if site.exists() and not site.is_symlink():  # a folder given as --out: kept aside, never written over
        site.rename(site.with_name(site.name + ".old"))
    switch_symlink(site, folder, keep=VERSIONS_KEPT)
