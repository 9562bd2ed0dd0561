"""The board scorecard, built by the real DAG after publish and opened in a real headless Chromium
(Debian's, driven by Playwright): every page of both editions without console errors or broken links,
the tile count against the catalogue, one KPI's figure the same on its tile, chart table, definition
and in the PDF as in marts.kpi_values, an axe-core accessibility check, and a failed page build that
leaves the marts published and raises its own alert class."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import pytest

from devtools.environment import local_environment, prepare
from devtools.walkthrough import ICB_FEEDS, Scenario, run_scenarios
from orchestration.settings import Settings
from synthetic.generator import generate_all

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FINAL = dt.date(2026, 11, 23)
KPI = "EHCP_20WK_ALL"  # a feed KPI with a numerator and denominator, a target and a DfE benchmark
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync", "--disable-background-networking",
                "--disable-component-update"]  # fmt: skip
# axe-core's rules for WCAG 2.0-2.2 A and AA, with its best practices.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    "resultTypes": ["violations"],
}

if CHROMIUM is None:
    pytest.skip(
        "Debian's chromium is not installed (make install installs it as root: apt-get install chromium)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """Two monthly runs: the first with a browser that cannot print (the page build fails after publish),
    the second with the ICB feed suspended in the IG register (ND KPIs from manual scorecards)."""
    work = tmp_path_factory.mktemp("scorecard")
    env = {**os.environ, **local_environment(work), "SEND_TASK_RETRIES": "0", "SEND_SCORECARD_PDF": "1"}
    settings = Settings.from_env(env)
    source = json.loads(env["AIRFLOW_CONN_LA_CASE_MANAGEMENT"])["extra"]["sqlalchemy_url"]
    Path(source.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    drop = work / "drop"
    generate_all("demo", seed=42, as_of=FINAL, target=source, out=drop, dirty_rate=0.0, size=0.5,
                 progress=False, icb_months=8, jobs=1)  # fmt: skip
    prepare(env, work / "prepare.log")
    broken = run_scenarios({**env, "SEND_CHROMIUM": "/bin/false"}, drop, FINAL, work / "runs.log", echo=lambda _: None,
                           scenarios=(Scenario("every feed live", 1),), check=False)  # fmt: skip
    suspended = Scenario("ICB feed suspended", 0, register={feed: {"status": "suspended"} for feed in ICB_FEEDS})
    run_scenarios(env, drop, FINAL, work / "runs.log", echo=lambda _: None, scenarios=(suspended,))
    return settings, env, broken


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield launched
        launched.close()


def _site(settings: Settings) -> Path:
    return settings.scorecard_dir


def _pages(settings: Settings) -> list[Path]:
    return sorted(p for p in _site(settings).resolve().rglob("*.html"))


def _latest(settings: Settings, table: str = "kpi_values") -> dict:
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        return dict(
            zip(
                ("value", "numerator", "denominator", "period_start", "is_suppressed"),
                con.execute(
                    f"select value, numerator, denominator, period_start, is_suppressed from marts.{table} "
                    "where kpi_code = ? and area_type = 'la' order by period_start desc limit 1",
                    [KPI],
                ).fetchone(),
                strict=True,
            )
        )


def test_a_failed_page_build_leaves_the_marts_published_and_raises_its_own_alert(board):
    settings, env, broken = board
    db = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as con:
        states = con.execute(
            "select task_id, state, try_number from task_instance where run_id = ? and task_id in "
            "('publish', 'build_scorecard')",
            [broken[0].run_id],
        ).fetchall()
    assert sorted(states) == [("build_scorecard", "failed", 1), ("publish", "success", 1)]
    alerts = [json.loads(line) for line in settings.alerts_path.read_text().splitlines()]
    [alert] = [a for a in alerts if a["event"] == "alert"]
    assert alert["failure_class"] == "scorecard" and alert["task_id"] == "build_scorecard"
    assert alert["runbook"].endswith("scorecard.md") and "Chromium" in alert["error"]
    # The next run built the site and closed the episode.
    assert any(a["event"] == "recovery" and a["failure_class"] == "scorecard" for a in alerts)
    assert (_site(settings) / "index.html").is_file() and _site(settings).is_symlink()


def test_every_page_opens_without_console_errors_broken_links_or_missing_images(board, browser):
    settings, _, _ = board
    pages = _pages(settings)
    assert len(pages) >= 2 * 10
    problems: list[str] = []
    page = browser.new_page()
    page.on(
        "console",
        lambda m: (
            problems.append(f"{page.url}: console {m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"{page.url}: request failed {r.url}"))
    for path in pages:
        page.goto(path.as_uri())
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
            problems += _broken(path, href)
        broken_images = page.eval_on_selector_all(
            "img", "els => els.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
        )
        problems += [f"{path.name}: image not loaded {src}" for src in broken_images]
    page.close()
    assert problems == []


def _broken(page: Path, href: str) -> list[str]:
    if re.match(r"[a-z]+:", href):
        return [f"{page.name}: link leaves the site: {href}"]  # nothing is fetched at view time
    url = urlparse(href)
    target = (page.parent / unquote(url.path)).resolve() if url.path else page
    if not target.is_file():
        return [f"{page.name}: broken link {href}"]
    if url.fragment and target.suffix == ".html" and f'id="{url.fragment}"' not in target.read_text():
        return [f"{page.name}: no anchor {href}"]
    return []


def test_one_tile_per_catalogue_kpi_and_missing_tiles_say_why(board, browser):
    settings, _, _ = board
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        (catalogue,) = con.execute("select count(*) from marts.kpi_catalogue").fetchone()
    page = browser.new_page()
    for edition in ("partnership", "public"):
        page.goto((_site(settings) / edition / "E10000017" / "index.html").resolve().as_uri())
        assert page.locator("li.tile").count() == catalogue
        for tile in page.locator("li.tile.prov-missing").all():
            assert tile.locator(".value").inner_text() == "missing"
            assert re.fullmatch(r"Missing: .{20,}", tile.locator(".badge").inner_text())
        badges = {b.split(":")[0] for b in page.locator("li.tile .badge").all_inner_texts()}
        assert badges <= {"Automated feed", "Aggregate feed", "Manual scorecard", "Missing"}
        assert "Manual scorecard" in badges  # the suspended ICB feed's KPIs
    nd = page.locator("li.tile[data-kpi='ND_ASD_REFERRALS'] .badge").inner_text()
    page.close()
    assert nd.startswith(("Manual scorecard", "Missing")), nd


def test_one_kpi_shows_the_marts_figure_on_tile_chart_table_definition_and_pdf(board, browser):
    from pypdf import PdfReader

    settings, _, _ = board
    latest = _latest(settings)
    expected = f"{latest['value']:.1f}%"
    edition = _site(settings) / "partnership" / "E10000017"
    page = browser.new_page()
    page.goto((edition / "index.html").resolve().as_uri())
    assert page.locator(f"li.tile [data-value='{KPI}']").inner_text() == expected
    page.goto((edition / "priority-ii.html").resolve().as_uri())
    first_row = page.locator(f"table[data-kpi='{KPI}'] tbody tr").first
    cells = first_row.locator("th, td").all_inner_texts()
    assert cells[:4] == [
        latest["period_start"].strftime("%b %Y"),
        expected,
        str(latest["numerator"]),
        str(latest["denominator"]),
    ]
    page.goto((edition / "definitions.html").resolve().as_uri())
    assert page.locator(f"dd[data-value='{KPI}']").inner_text() == expected
    page.close()
    text = " ".join(p.extract_text() for p in PdfReader(edition / "board-pack.pdf").pages)
    assert text.count(expected) >= 3  # tile, table row, definition


def test_the_public_edition_shows_the_suppressed_profile_and_no_free_text(board, browser):
    settings, _, _ = board
    public = _site(settings) / "public" / "E10000017"
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        hidden = con.execute(
            "select kpi_code from marts.kpi_values_public where area_type = 'la' and is_suppressed "
            "and period_start = (select max(period_start) from marts.kpi_values_public)"
        ).fetchall()
    page = browser.new_page()
    page.goto((public / "index.html").resolve().as_uri())
    for (code,) in hidden:
        assert page.locator(f"li.tile [data-value='{code}']").inner_text() == "suppressed (small number)"
    page.goto((public / "exceptions.html").resolve().as_uri())
    assert page.locator("th", has_text="Commentary").count() == 0
    page.close()
    assert "not for publication" not in (public / "index.html").read_text()


def test_no_serious_accessibility_violation_and_keyboard_reaches_the_content(board, browser):
    from axe_playwright_python.sync_playwright import Axe

    settings, _, _ = board
    axe = Axe()
    page = browser.new_page()
    found: dict[str, list[str]] = {}
    for path in _pages(settings):
        if path.name == "board-pack.html":
            continue  # the same sections as the pages, for print
        page.goto(path.as_uri())
        violations = axe.run(page, options=AXE_OPTIONS).response["violations"]
        serious = [
            f"{v['id']} ({v['impact']}): {len(v['nodes'])}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            found[str(path.relative_to(_site(settings).resolve()))] = serious
    page.goto((_site(settings) / "partnership" / "E10000017" / "index.html").resolve().as_uri())
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    page.close()
    assert found == {}
