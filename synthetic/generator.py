"""Generate every synthetic source of a scale: LA databases, ICB provider files, manual returns.

    target/             one LA case-management database per LA (SQLAlchemy URL, `{area_code}` for several)
    out/icb_nd_pathway/ provider files, one per provider and month
    out/manual_returns/ scorecards, PAP milestone tracker, risk register, survey results

Each LA is simulated with its own random streams (seed, LA code, part), so the output does not
depend on the order or the number of parallel workers.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from synthetic import icb, la_case_management, manual
from synthetic.calibration import load_targets
from synthetic.la_case_management import DEFAULT_FIRST_YEAR, build_la, horizon_for, nhs_offsets, target_for
from synthetic.scales import LSC_ICB, SCALES, Scale

PAP_START = dt.date(2024, 4, 1)  # the Priority Action Plan after the area inspection

# Workers start fresh: a forked child of a process whose BLAS or library threads are running can spin
# forever (seen in the test run, after other tests had started threads).
_SPAWN = get_context("spawn")


@dataclass
class Summary:
    scale: str
    seed: int
    as_of: dt.date
    dirty_rate: float
    seconds: float = 0.0
    la_rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)  # folder -> files written
    file_rows: int = 0
    bytes_databases: int = 0
    bytes_files: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"scale {self.scale}, seed {self.seed}, as of {self.as_of}, dirty rate {self.dirty_rate:g}: "
            f"{self.seconds:.1f}s",
            f"LA tables: {sum(self.la_rows.values()):,} rows ("
            + ", ".join(f"{k} {v:,}" for k, v in self.la_rows.items())
            + ")",
        ]
        if self.files:
            out.append(f"files: {', '.join(f'{k} {v:,}' for k, v in self.files.items())} ({self.file_rows:,} rows)")
        out.append(f"size: databases {self.bytes_databases / 1e6:,.1f} MB, files {self.bytes_files / 1e6:,.1f} MB")
        out.append("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items()))
        return out


@contextmanager
def _progress(total: int, enabled: bool, desc: str) -> Iterator:
    try:
        from tqdm import tqdm
    except ImportError:  # progress is a nicety; the generator works without it
        tqdm = None
    if tqdm is None or not enabled:
        yield lambda n=1: None
        return
    with tqdm(total=total, desc=desc, unit="step", file=sys.stderr, dynamic_ncols=True) as bar:
        yield bar.update


def _slim_world(source):
    world = source.world
    world.tables = {}  # the health feeds need people, targets and the horizon, not the tables
    return world


def _la_job(args):
    scale, area, seed, as_of, first_year, rate, offset, url, many, keep_frames = args
    source = build_la(scale, area, seed, as_of, first_year, rate, offset)
    if url:
        la_case_management.write_tables(target_for(url, area, many), source.frames)
    counts = {name: len(frame) for name, frame in source.frames.items()}
    frames = source.frames if keep_frames else None
    return area, counts, _slim_world(source), frames


def generate_all(
    scale_name: str,
    seed: int,
    as_of: dt.date,
    target: str | None,
    out: Path | None,
    dirty_rate: float | None = None,
    size: float = 1.0,
    first_year: int = DEFAULT_FIRST_YEAR,
    jobs: int | None = None,
    progress: bool = True,
    areas: list[str] | None = None,
    icb_months: int | None = None,
) -> Summary:
    """`areas` limits the run to some of the scale's LAs (each comes out exactly as in a full run);
    `icb_months` overrides how many monthly ICB files (and manual returns) are written."""
    scale: Scale = SCALES[scale_name].resized(size) if size != 1.0 else SCALES[scale_name]
    rate = scale.dirty_rate if dirty_rate is None else dirty_rate
    summary = Summary(scale_name, seed, as_of, rate)
    started = time.perf_counter()
    unknown = set(areas or []) - set(scale.areas())
    if unknown:
        raise ValueError(f"not in scale {scale_name}: {', '.join(sorted(unknown))}")
    many = len(scale.areas()) > 1
    areas = areas or scale.areas()
    offsets = nhs_offsets(scale, first_year, horizon_for(as_of))
    months = icb.month_ends(as_of, scale.icb_months if icb_months is None else icb_months)
    manual_areas = [a for a in areas if a in LSC_ICB] or [scale.home_area]
    jobs = jobs or (min(os.cpu_count() or 1, len(areas)) if many else 1)

    # 1. LA case-management databases.
    worlds, home_frames = {}, {}
    tick = time.perf_counter()
    work = [
        (scale, a, seed, as_of, first_year, rate, offsets[a], target, many, out is not None and a in manual_areas)
        for a in areas
    ]
    with _progress(len(areas), progress, "LA databases") as step:
        pool = ProcessPoolExecutor(jobs, mp_context=_SPAWN) if jobs > 1 else None
        try:
            for area, counts, world, frames in pool.map(_la_job, work) if pool else map(_la_job, work):
                worlds[area] = world
                if frames is not None:
                    home_frames[area] = frames
                for name, n in counts.items():
                    summary.la_rows[name] = summary.la_rows.get(name, 0) + n
                step()
        finally:
            if pool:
                pool.shutdown()
    summary.timings["LA databases"] = time.perf_counter() - tick
    if target:
        summary.bytes_databases = sum(_db_bytes(target_for(target, a, many)) for a in areas)

    if out is not None:
        out = Path(out)
        tick = time.perf_counter()
        summary.file_rows += _write_icb(
            out / "icb_nd_pathway", worlds, offsets, months, seed, rate, progress, summary, jobs
        )
        summary.timings["ICB files"] = time.perf_counter() - tick
        tick = time.perf_counter()
        writer = manual.ManualWriter(out / "manual_returns", seed, rate)
        names = load_targets()["la_name"]
        paths = []
        with _progress(len(manual_areas) + 3, progress, "manual returns") as step:
            for area in manual_areas:
                paths += writer.scorecards(area, str(names.get(area, area)), months, home_frames.get(area))
                step()
            paths += writer.milestones(months, PAP_START)
            step()
            paths += writer.risks(months, PAP_START)
            step()
            paths += writer.surveys(manual_areas, first_year, as_of)
            step()
        summary.files["manual_returns"] = len(paths)
        summary.timings["manual returns"] = time.perf_counter() - tick
        databases = {_db_path(target_for(target, a, many)) for a in areas} if target else set()
        summary.bytes_files = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and p not in databases)
    summary.seconds = time.perf_counter() - started
    return summary


def _write_icb(folder, worlds, offsets, months, seed, rate, progress, summary, jobs) -> int:
    """Provider files, one job per group of LAs that share a provider (for national, each LA alone)."""
    if not months:
        return 0
    groups = _provider_groups(worlds)
    work = [(folder, {a: worlds[a] for a in group}, offsets, months, seed, rate) for group in groups]
    written = rows = 0
    with _progress(len(work), progress, "ICB files") as step:
        pool = ProcessPoolExecutor(jobs, mp_context=_SPAWN) if jobs > 1 and len(work) > 1 else None
        try:
            for files, n in pool.map(_icb_job, work) if pool else map(_icb_job, work):
                written += files
                rows += n
                step()
        finally:
            if pool:
                pool.shutdown()
    summary.files["icb_nd_pathway"] = written
    return rows


def _provider_groups(worlds) -> list[list[str]]:
    """LAs linked by a shared provider end up in one group (their provider files hold them all)."""
    groups: list[tuple[set[str], list[str]]] = []
    for area, world in worlds.items():
        codes = {ods for pathway in icb.providers_for(area, world.targets.old_la_code).values() for ods in pathway}
        touching = [g for g in groups if g[0] & codes]
        merged = (codes.union(*(g[0] for g in touching)), [a for g in touching for a in g[1]] + [area])
        groups = [g for g in groups if not g[0] & codes] + [merged]
    return [sorted(g[1]) for g in groups]


def _icb_job(args) -> tuple[int, int]:
    folder, worlds, offsets, months, seed, rate = args
    start_year = months[0].year - 3  # a few years' referrals before the first file: a waiting list exists
    referrals, errors = [], []
    for area, world in worlds.items():
        la = int(world.targets.old_la_code)
        nd = icb.simulate(world, seed, start_year, offsets[area] + len(world.people))
        refs = icb.delete_some(nd.referrals, rate, seed, la)
        referrals.append(refs)
        err = icb.draw_errors(refs, rate, seed, la)
        if err is not None:
            errors.append(err)
    world_table = pd.concat(referrals, ignore_index=True)
    error_table = pd.concat(errors, ignore_index=True) if errors else None
    writer = icb.FileWriter(folder, rate, seed)
    aggregate = world_table["provider_ods_code"].map(icb.is_aggregate_only).astype(bool)
    written = rows = 0
    for month_end in months:
        person = icb.referral_snapshot(world_table[~aggregate], error_table, month_end)
        for ods, frame in person.groupby("provider_ods_code", sort=True):
            written += len(writer.write(ods, "REFERRALS", month_end, frame))
            rows += len(frame)
        if aggregate.any():
            waiting = icb.waiting_list(world_table[aggregate], month_end)
            for ods, frame in waiting.groupby("provider_ods_code", sort=True):
                written += len(writer.write(ods, "WAITLIST", month_end, frame))
                rows += len(frame)
    return written, rows


def _db_path(url: str) -> Path | None:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return Path(parsed.database).resolve()
    return None


def _db_bytes(url: str) -> int:
    path = _db_path(url)
    return path.stat().st_size if path is not None and path.exists() else 0
