"""SEN needs on each plan: a primary need in the LA's published mix, and a secondary need for some."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from synthetic.calibration import NEED_CODES, LaTargets
from synthetic.la_world.dates import day
from synthetic.la_world.rows import numbered, world_rows


def need_table(rng, targets: LaTargets, pidx, start, created, active_id) -> pd.DataFrame:
    n = len(pidx)
    codes = np.array(NEED_CODES)
    shares = np.array([targets.need_shares[c] for c in NEED_CODES])
    primary = rng.choice(codes, n, p=shares)
    primary = np.where((start >= day(dt.date(2025, 1, 1))) & (rng.random(n) < 0.004), "DS", primary)
    has_second = rng.random(n) < 0.45
    second = rng.choice(codes, n, p=shares)
    clash = second == primary
    second[clash] = codes[(np.searchsorted(codes, second[clash]) + 1) % len(codes)]
    second = np.where(rng.random(n) < 0.004, "DS", second)
    second = np.where(second == primary, "OTH", second)
    ids = np.concatenate([pidx, pidx[has_second]])
    frame = world_rows(
        ids,
        np.concatenate([created, created[has_second]]),
        rng,
        senn_active_ehcp_id=active_id[ids],
        senn_active_ehcp_need_type=np.concatenate([primary, second[has_second]]),
        senn_active_ehcp_need_rank=np.array(["1"] * n + ["2"] * int(has_second.sum())),
    )
    return numbered(frame, "SN", "senn_table_id", rng)
