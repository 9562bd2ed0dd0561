"""Placements: a setting for each phase of a plan (early years, primary, secondary, post-16), with
moves at the phase transfers and some mid-phase, and school or provider codes from small pools."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.calibration import LaTargets
from synthetic.la_world.dates import D, last_day, nc_year, reception_year, sept_first
from synthetic.la_world.draws import between
from synthetic.la_world.rows import numbered, world_rows

PLACEMENT_MIX = {  # setting group by phase, before any move
    "early": (["EARLY_YEARS", "MAINSTREAM", "SPECIAL"], [0.50, 0.45, 0.05]),
    "primary": (["MAINSTREAM", "SPECIAL", "EDUCATED_ELSEWHERE", "AP_PRU", None], [0.62, 0.33, 0.03, 0.005, 0.015]),
    "secondary": (["MAINSTREAM", "SPECIAL", "AP_PRU", "EDUCATED_ELSEWHERE", None], [0.40, 0.48, 0.015, 0.075, 0.03]),
    "post16": (["FE", "SPECIAL", "MAINSTREAM", "EDUCATED_ELSEWHERE", None], [0.50, 0.25, 0.12, 0.05, 0.08]),
}


def placement_table(rng, targets: LaTargets, pidx, start, cease, dob, created, active_id, live, end) -> pd.DataFrame:
    stop = last_day(cease, end)
    reception = reception_year(dob)
    starts = [start]
    owner = [np.arange(len(pidx))]
    for nc in (0, 7, 12):
        move = sept_first(reception + nc)
        inside = (move > start) & (move <= stop)
        starts.append(move[inside])
        owner.append(np.flatnonzero(inside))
    seg = pd.DataFrame({"p": np.concatenate(owner), "entry": np.concatenate(starts)})
    # Some children move setting mid-phase (to special school, alternative provision, elsewhere).
    seg = seg.sort_values(["p", "entry"], kind="stable").reset_index(drop=True)
    seg_end = seg.groupby("p")["entry"].shift(-1).to_numpy("datetime64[D]")
    seg_end = np.where(np.isnat(seg_end), stop[seg["p"].to_numpy()], seg_end)
    long = (seg_end - seg["entry"].to_numpy("datetime64[D]")) // D > 240
    split = long & (rng.random(len(seg)) < 0.08)
    extra = pd.DataFrame(
        {
            "p": seg["p"][split],
            "entry": between(rng, seg["entry"].to_numpy("datetime64[D]")[split] + 90 * D, seg_end[split] - 30 * D),
        }  # fmt: skip
    )
    seg = pd.concat([seg, extra]).sort_values(["p", "entry"], kind="stable").reset_index(drop=True)
    p = seg["p"].to_numpy()
    entry = seg["entry"].to_numpy("datetime64[D]")
    nxt = seg.groupby("p")["entry"].shift(-1).to_numpy("datetime64[D]")
    leaving = np.where(np.isnat(nxt), cease[p], nxt - 1 * D)
    nc = nc_year(dob[p], entry)
    phase = np.select([nc < 0, nc <= 6, nc <= 11], ["early", "primary", "secondary"], "post16")
    group = np.empty(len(seg), dtype=object)
    for name, (groups, weights) in PLACEMENT_MIX.items():
        mask = phase == name
        group[mask] = rng.choice(np.array(groups, dtype=object), mask.sum(), p=weights)
    keep = (group != None) & (np.where(np.isnat(leaving), True, leaving >= live))  # noqa: E711
    p, entry, leaving, group = p[keep], entry[keep], leaving[keep], group[keep]
    k = len(p)
    la = int(targets.old_la_code)
    base = 900_000 + ((la * 613) % 99) * 1000
    plans_n = max(targets.scaled(targets.plans, 2025), 1)
    pools = {
        "MAINSTREAM": int(max(5, plans_n / 20)),
        "SPECIAL": int(max(2, plans_n / 250)),
        "AP_PRU": int(max(1, plans_n / 2000)),
        "EARLY_YEARS": int(max(2, plans_n / 300)),
    }
    offsets = {"MAINSTREAM": 0, "SPECIAL": 700, "AP_PRU": 850, "EARLY_YEARS": 900}
    urn = np.full(k, None, dtype=object)
    for name, size in pools.items():
        mask = group == name
        if name == "EARLY_YEARS":
            mask &= rng.random(k) < 0.6
        urn[mask] = (base + offsets[name] + rng.integers(0, min(size, 99 if name != "MAINSTREAM" else 699),
                                                          mask.sum())).astype(str)  # fmt: skip
    fe = group == "FE"
    ukprn = np.where(fe, (10_900_000 + (la % 100) * 100 + rng.integers(0, 40, k)).astype(str), None)
    setting = np.full(k, None, dtype=object)
    elsewhere = group == "EDUCATED_ELSEWHERE"
    setting[elsewhere] = rng.choice(["OLA", "OPA", "EHE"], elsewhere.sum(), p=[0.5, 0.15, 0.35])
    setting[(group == "EARLY_YEARS") & (urn == None)] = "EYP"  # noqa: E711
    school = np.isin(group, ["MAINSTREAM", "SPECIAL", "AP_PRU"])
    mainstream = group == "MAINSTREAM"
    frame = world_rows(
        p,
        np.maximum(np.maximum(entry, created[p]), live),
        rng,
        plac_active_ehcp_id=active_id[pidx[p]],
        plac_urn=urn,
        plac_ukprn=ukprn,
        plac_sen_setting=setting,
        plac_setting_group=group,
        plac_placement_rank=np.full(k, "1"),
        plac_sen_unit=np.where(school, np.where(mainstream & (rng.random(k) < 0.04), "1", "0"), None),
        plac_resourced_provision=np.where(school, np.where(mainstream & (rng.random(k) < 0.05), "1", "0"), None),
        plac_residential=np.where((group == "SPECIAL") & (rng.random(k) < 0.03), rng.choice(["A", "B"], k), None),
        plac_work_based=np.where(fe & (rng.random(k) < 0.08), rng.choice(["S", "A", "T"], k, p=[0.6, 0.3, 0.1]), None),
        plac_entry_date=entry,
        plac_leaving_date=leaving,
        _t_left=leaving + rng.integers(0, 15, k) * D,
    )
    frame = frame[frame["_created"] <= pd.Timestamp(end)]
    return numbered(frame, "PL", "plac_placement_id", rng)
