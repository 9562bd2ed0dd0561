"""A source's full history as rows with the dates they appear, change and disappear, and the view of
it on any date (a snapshot). Generating the world once and viewing it at two dates gives two
consistent extracts: what changed in between carries a later change timestamp, corrections arrive
late, deleted rows vanish.

A world table is a DataFrame with the contract's columns holding their final values plus:
  _created   date the row enters the source
  _deleted   date it is deleted (NaT: never)
  _minute    minutes after 08:00 at which its changes are stamped (stable per row)
and, per `Reveal`, the date from which a column shows its final value (before it, `before`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

NaT = np.datetime64("NaT", "D")


@dataclass(frozen=True)
class Reveal:
    column: str
    at: str  # world column holding the date the final value becomes visible
    before: object = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    reveals: tuple[Reveal, ...] = ()
    events: tuple[str, ...] = ()  # extra date columns that bump the change timestamp when reached
    change_column: str = "last_modified_at"


def days(values) -> np.ndarray:
    return np.asarray(values, dtype="datetime64[D]")


def stamp(dates: np.ndarray, minutes: np.ndarray) -> pd.Series:
    """Change timestamp: the day at 08:00 plus the row's minute offset."""
    return pd.Series(
        dates.astype("datetime64[m]") + np.timedelta64(8 * 60, "m") + minutes.astype("timedelta64[m]")
    ).astype("datetime64[us]")


def snapshot(world: pd.DataFrame, spec: TableSpec, as_of: dt.date, columns: list[str]) -> pd.DataFrame:
    """The table as the source holds it at the end of `as_of`."""
    cut = np.datetime64(as_of, "D")
    created = world["_created"].to_numpy("datetime64[D]")
    deleted = world["_deleted"].to_numpy("datetime64[D]")
    keep = (created <= cut) & ~(deleted <= cut)
    rows = world.loc[keep]
    out = rows[columns].copy()
    changed = rows["_created"].to_numpy("datetime64[D]")
    for reveal in spec.reveals:
        when = rows[reveal.at].to_numpy("datetime64[D]")
        shown = when <= cut  # NaT compares False: never revealed
        if reveal.before is None:
            out[reveal.column] = out[reveal.column].where(shown, None)
        else:
            out[reveal.column] = out[reveal.column].where(shown, reveal.before)
        changed = np.where(shown & (when > changed), when, changed)
    for event in spec.events:
        when = rows[event].to_numpy("datetime64[D]")
        changed = np.where((when <= cut) & (when > changed), when, changed)
    out["_changed"] = changed
    out["_minute"] = rows["_minute"].to_numpy()
    return out


def finish(frame: pd.DataFrame, spec: TableSpec, columns: list[str]) -> pd.DataFrame:
    """Add the change timestamp and keep the contract's columns in order."""
    frame = frame.reset_index(drop=True)
    frame[spec.change_column] = stamp(frame["_changed"].to_numpy("datetime64[D]"), frame["_minute"].to_numpy())
    return frame[columns]
