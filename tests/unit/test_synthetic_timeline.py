"""A synthetic source is one history viewed on a date: rows appear, change and vanish consistently."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from synthetic import dirty
from synthetic.la_case_management import SCALES, build_la
from synthetic.timeline import Reveal, TableSpec, finish, snapshot

SPEC = TableSpec("t", reveals=(Reveal("outcome", "_t_decided", before="A"), Reveal("decided_on", "_t_decided")))
COLUMNS = ["key", "outcome", "decided_on", "last_modified_at"]


def _world() -> pd.DataFrame:
    d = np.datetime64
    return pd.DataFrame(
        {
            "key": ["K1", "K2", "K3"],
            "outcome": ["Y", "N", "Y"],
            "decided_on": [d("2024-03-01"), d("2024-05-01"), d("2024-02-01")],
            "_created": [d("2024-01-10"), d("2024-01-20"), d("2024-01-05")],
            "_deleted": [np.datetime64("NaT"), np.datetime64("NaT"), d("2024-04-01")],
            "_minute": [0, 30, 60],
            "_t_decided": [d("2024-03-01"), d("2024-05-01"), d("2024-02-01")],
        }
    )


def _view(as_of: dt.date, errors: pd.DataFrame | None = None) -> pd.DataFrame:
    snap = snapshot(_world(), SPEC, as_of, COLUMNS[:-1])
    snap = dirty.apply_errors(snap, errors, "key", as_of)
    return finish(snap, SPEC, COLUMNS).set_index("key")


def test_values_show_from_the_day_they_happen_and_bump_the_change_timestamp():
    before = _view(dt.date(2024, 2, 15))
    assert list(before.index) == ["K1", "K2", "K3"]
    assert before.loc["K1", "outcome"] == "A" and pd.isna(before.loc["K1", "decided_on"])
    assert before.loc["K1", "last_modified_at"] == pd.Timestamp("2024-01-10 08:00")
    after = _view(dt.date(2024, 3, 31))
    assert after.loc["K1", "outcome"] == "Y" and after.loc["K1", "decided_on"] == pd.Timestamp("2024-03-01")
    assert after.loc["K1", "last_modified_at"] == pd.Timestamp("2024-03-01 08:00")
    assert after.loc["K2", "last_modified_at"] == before.loc["K2", "last_modified_at"]  # nothing happened to K2


def test_rows_appear_when_created_and_vanish_when_deleted():
    assert list(_view(dt.date(2024, 1, 15)).index) == ["K1", "K3"]
    assert "K3" not in _view(dt.date(2024, 4, 1)).index


def test_error_shows_until_corrected_and_only_a_loud_correction_bumps_the_timestamp():
    errors = pd.DataFrame(
        {
            "key": ["K1", "K2"],
            "field": ["outcome", "outcome"],
            "wrong": ["Z", " n "],
            "start": [np.datetime64("2024-03-01"), np.datetime64("2024-05-01")],
            "fix": [np.datetime64("2024-06-10"), np.datetime64("2024-06-20")],
            "silent": [False, True],
        }
    )
    during = _view(dt.date(2024, 6, 1), errors)
    assert during.loc["K1", "outcome"] == "Z" and during.loc["K2", "outcome"] == " n "
    later = _view(dt.date(2024, 7, 1), errors)
    assert later.loc["K1", "outcome"] == "Y" and later.loc["K2", "outcome"] == "N"
    assert later.loc["K1", "last_modified_at"] == pd.Timestamp("2024-06-10 08:00")  # late-arriving correction
    assert later.loc["K2", "last_modified_at"] == during.loc["K2", "last_modified_at"]  # silent: same timestamp


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), "").astype(str)


@pytest.fixture(scope="module")
def two_snapshots():
    scale = SCALES["demo"].resized(0.25)
    first, second = dt.date(2025, 6, 30), dt.date(2025, 9, 30)
    a = build_la(scale, scale.home_area, 3, first, first_year=2024, dirty_rate=0.05).frames
    b = build_la(scale, scale.home_area, 3, second, first_year=2024, dirty_rate=0.05).frames
    return first, a, b


def test_two_snapshots_of_one_world_agree_and_changes_carry_later_timestamps(two_snapshots):
    first, a, b = two_snapshots
    cut = pd.Timestamp(first) + pd.Timedelta(days=1)
    late_corrections = deleted = 0
    for name in a:
        key = a[name].columns[0]
        old, new = a[name].set_index(key), b[name].set_index(key)
        deleted += len(old.index.difference(new.index))
        both = old.index.intersection(new.index)
        assert (new.loc[both, "last_modified_at"] >= old.loc[both, "last_modified_at"]).all(), name
        same_stamp = new.loc[both, "last_modified_at"] == old.loc[both, "last_modified_at"]
        unchanged = _text(old.loc[both]).eq(_text(new.loc[both])).all(axis=1)
        # A row whose values changed has a newer timestamp, except silent corrections (a small share).
        silent = (~unchanged & same_stamp).sum()
        assert silent <= 0.01 * len(both) + 3, name
        fresh = new.index.difference(old.index)
        assert (new.loc[fresh, "last_modified_at"] >= cut).all(), name  # new since the first extract
        late_corrections += int((~unchanged & ~same_stamp & (old.loc[both, "last_modified_at"] < cut)).sum())
    assert deleted > 0  # rows deleted in the source between the two extracts
    assert late_corrections > 0
