"""From simulated events to world rows: the timeline columns every row carries, and ids rising with time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.la_world.dates import NaT


def world_rows(ids: np.ndarray, created: np.ndarray, rng: np.random.Generator, **columns) -> pd.DataFrame:
    frame = pd.DataFrame(columns)
    frame.insert(0, "_id", ids)
    frame["_created"] = created
    frame["_deleted"] = NaT
    frame["_minute"] = rng.integers(0, 600, len(frame))
    return frame


def numbered(frame: pd.DataFrame, prefix: str, id_column: str, rng: np.random.Generator) -> pd.DataFrame:
    """Give rows ids rising with their creation date; keep the old position in `_pos`."""
    order = _order(frame["_created"].to_numpy("datetime64[D]"), rng)
    frame = frame.iloc[order].copy()
    frame["_pos"] = order
    frame[id_column] = _ids(prefix, len(frame))
    return frame.reset_index(drop=True)


def id_lookup(frame: pd.DataFrame, id_column: str, by: str = "_pos", size: int | None = None) -> np.ndarray:
    """Array: original position (or the `by` index, in an array of `size`) -> id."""
    out = np.empty(len(frame) if size is None else size, dtype=object)
    out[frame[by].to_numpy()] = frame[id_column].to_numpy()
    return out


def _ids(prefix: str, n: int) -> np.ndarray:
    return np.char.add(prefix, (1_000_000 + np.arange(n)).astype(str))


def _order(created: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row order by creation date (ties broken at random), so ids rise with time like a sequence."""
    return np.lexsort((rng.random(len(created)), created))
