"""Dates as numpy day arrays, and the school calendar the simulation keys on."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

D = np.timedelta64(1, "D")
NaT = np.datetime64("NaT", "D")


def day(value: dt.date) -> np.datetime64:
    return np.datetime64(value, "D")


def years_of(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[Y]").astype(np.int64) + 1970


def on(years: np.ndarray, month: int, day: int) -> np.ndarray:
    base = (np.asarray(years, dtype=np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[M]")
    return (base + (month - 1)).astype("datetime64[D]") + (day - 1) * D


def sept_first(years: np.ndarray) -> np.ndarray:
    return (np.asarray(years, dtype=np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[D]") + 243 * D


def last_day(cease: np.ndarray, end: np.datetime64) -> np.ndarray:
    """Last day a plan is in place within the simulation (its cease date, or the end)."""
    return np.where(np.isnat(cease), end, np.minimum(cease, end))


def reception_year(dob: np.ndarray) -> np.ndarray:
    """Calendar year a child born on `dob` starts Reception (age 4 on 31 August)."""
    dob = pd.DatetimeIndex(dob)
    return np.where(dob.month >= 9, dob.year + 5, dob.year + 4).astype(np.int64)


def nc_year(dob: np.ndarray, when: np.ndarray) -> np.ndarray:
    """National curriculum year on a date (Reception 0, Year 1 = 1, ...; negative before school)."""
    when = pd.DatetimeIndex(when)
    academic = np.where(when.month >= 9, when.year, when.year - 1)
    return academic - reception_year(dob)
