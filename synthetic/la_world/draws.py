"""Random draws shared by every part of the world: counts, days between dates, ages and birth dates."""

from __future__ import annotations

import numpy as np

from synthetic.la_world.dates import D


def count(rng: np.random.Generator, expected: float) -> int:
    """Round with the fractional part as a probability, so small scales keep their mean."""
    whole = int(np.floor(expected))
    return whole + int(rng.random() < expected - whole)


def between(rng: np.random.Generator, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """A day uniformly between two date arrays (inclusive); start where end < start."""
    span = np.maximum((end - start) // D, 0)
    return start + np.floor(rng.random(len(start)) * (span + 1)).astype(np.int64) * D


def sample_ages(rng: np.random.Generator, table: dict[int, float], n: int) -> np.ndarray:
    ages = np.array(list(table), dtype=np.int64)
    weights = np.array(list(table.values()), dtype=float)
    return rng.choice(ages, n, p=weights / weights.sum())


def birth_dates(rng: np.random.Generator, at: np.ndarray, age_years: np.ndarray) -> np.ndarray:
    """Date of birth making someone `age_years` old (completed years) on `at`."""
    days_old = (age_years * 365.25).astype(np.int64) + rng.integers(0, 365, len(at))
    return at - days_old * D
