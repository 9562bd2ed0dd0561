"""The scorecard's words: values with units, change judged by the KPI's direction, why a value is missing."""

from __future__ import annotations

import datetime as dt

from scorecard.data import Board, FeedState, Kpi, Point
from scorecard.site import href, priority_file, provenance_text, rag_text, target_text, travel, value_text


def _kpi(values: list[float | None], unit="percent", direction="higher_is_better", provenance="feed") -> Kpi:
    months = [dt.date(2025 + (i // 12), i % 12 + 1, 1) for i in range(len(values))]
    series = [Point(m, v, None, None, provenance if v is not None else "missing", "la_case_management", None, False)
              for m, v in zip(months, values, strict=True)]  # fmt: skip
    return Kpi("K", "A KPI", "Priority II", "d", None, None, unit, direction, 60.0, 50.0, "la_case_management", None,
               True, "Head of SEND", series)  # fmt: skip


def _board(feeds: list[FeedState]) -> Board:
    return Board("partnership", "E10000017", "Lancashire", None, dt.date(2026, 1, 1), None, "r", None, [], [], feeds,
                 [], [])  # fmt: skip


def test_values_carry_their_unit_and_a_missing_or_suppressed_value_says_so():
    kpi = _kpi([81.25])
    assert value_text(kpi, kpi.latest) == "81.2%"
    assert value_text(_kpi([1234.0], unit="count"), _kpi([1234.0], unit="count").latest) == "1,234"
    assert value_text(_kpi([18.04], unit="weeks"), _kpi([18.04], unit="weeks").latest) == "18.0 weeks"
    assert (
        value_text(kpi, Point(dt.date(2025, 1, 1), None, None, None, "feed", None, None, True))
        == "suppressed (small number)"
    )
    assert value_text(kpi, Point(dt.date(2025, 1, 1), None, None, None, "missing", None, None, False)) == "missing"


def test_change_is_judged_by_the_kpis_direction():
    assert travel(_kpi([50.0, 52.5]), 1, "last month") == "Up 2.5 points on Jan 2025 (better)"
    assert (
        travel(_kpi([50.0, 52.5], direction="lower_is_better"), 1, "last month") == "Up 2.5 points on Jan 2025 (worse)"
    )
    assert travel(_kpi([10.0, 7.0], unit="count", direction="none"), 1, "last month") == "Down 3 on Jan 2025"
    assert travel(_kpi([None, 7.0]), 1, "last month") == "No comparison with last month (Jan 2025: missing)"
    assert travel(_kpi([7.0]), 12, "a year before") == "No comparison with a year before"


def test_targets_read_in_the_kpis_direction():
    assert target_text(_kpi([1.0])) == "at least 60.0%"
    assert target_text(_kpi([1.0], unit="weeks", direction="lower_is_better")) == "at most 60.0 weeks"
    assert rag_text(_kpi([None]), _kpi([None]).latest) == "No rating"


def test_a_missing_value_names_the_blocked_feed_since_when_and_whether_its_owner_was_told():
    kpi = _kpi([None])
    blocked = FeedState("la_case_management", "blocked", "suspended in the IG register", dt.date(2025, 11, 1), None,
                        None, "LA data owner", True)  # fmt: skip
    text = provenance_text(_board([blocked]), kpi, kpi.latest)
    assert text == (
        "Missing: la_case_management blocked since 01 Nov 2025 (suspended in the IG register) "
        "and no manual scorecard was submitted; data owner told"
    )
    assert provenance_text(_board([]), kpi, kpi.latest).startswith("Missing: la_case_management has never been read")


def test_links_point_into_the_one_file_board_pack_when_printing():
    assert priority_file("Preparation for Adulthood") == "preparation-for-adulthood.html"
    assert href(False, "priority-ii.html", "kpi-K") == "priority-ii.html#kpi-K"
    assert href(True, "priority-ii.html", "kpi-K") == "#kpi-K"
    assert href(True, "exceptions.html") == "#exceptions"
