"""Synthetic LA case-management database (SSD EHCP tables and SEN2 extensions) written through SQLAlchemy.

`build_frames` simulates one LA's history (synthetic.la_world), views it on the as-of date and
returns the contract's tables as DataFrames; `write_tables` creates every contract table at any
SQLAlchemy URL and writes the frames (tables without a frame are created empty); `generate` does
both for each LA of a scale.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ingestion.contract import load_contract
from synthetic import dirty, la_world
from synthetic.calibration import LaTargets
from synthetic.scales import SCALES, Scale
from synthetic.timeline import Reveal, TableSpec, finish, snapshot

__all__ = ["SCALES", "Scale", "build_frames", "build_la", "generate", "horizon_for", "write_tables"]

FEED = "la_case_management"
DEFAULT_FIRST_YEAR = 2021
_SQL_TYPES = {
    "string": sa.String(64),
    "date": sa.Date(),
    "timestamp": sa.DateTime(),
    "integer": sa.Integer(),
    "number": sa.Float(),
    "boolean": sa.String(1),  # Y / N, as SSD flags are stored (nchar(1)); reads back the same on every driver
}
SPECS = {
    "ssd_person": TableSpec("ssd_person"),
    "ssd_send": TableSpec(
        "ssd_send",
        reveals=(
            Reveal("send_upn", "_t_upn"),
            Reveal("send_upn_unknown", "_t_upn", before="UN1"),
            Reveal("send_uln", "_t_uln"),
        ),
    ),
    "ssd_ehcp_requests": TableSpec(
        "ssd_ehcp_requests",
        reveals=(
            Reveal("ehcr_ehcp_req_outcome", "_t_decided", before="A"),
            Reveal("ehcr_ehcp_req_outcome_date", "_t_decided"),
            # Mediation and tribunal items are recorded with the decision they are about (blank before):
            # revealed with it, they never move a row's change timestamp on their own.
            Reveal("ehcr_ehcp_req_mediation", "_t_decided"),
            Reveal("ehcr_ehcp_req_tribunal", "_t_decided"),
        ),
    ),
    "ssd_ehcp_assessment": TableSpec(
        "ssd_ehcp_assessment",
        reveals=(
            Reveal("ehca_ehcp_assessment_outcome", "_t_outcome", before="A"),
            Reveal("ehca_ehcp_assessment_outcome_date", "_t_outcome"),
            Reveal("ehca_ehcp_assessment_mediation", "_t_outcome"),
            Reveal("ehca_ehcp_assessment_tribunal", "_t_outcome"),
            Reveal("ehca_ehcp_assessment_other_mediation", "_t_outcome"),
            Reveal("ehca_ehcp_assessment_other_tribunal", "_t_outcome"),
        ),
    ),
    "send_assessment_exceptions": TableSpec("send_assessment_exceptions"),
    "send_ehcp_advice": TableSpec("send_ehcp_advice", reveals=(Reveal("ehad_received_date", "_t_received"),)),
    "send_ep_allocations": TableSpec("send_ep_allocations"),
    "ssd_ehcp_named_plan": TableSpec(
        "ssd_ehcp_named_plan",
        reveals=(
            Reveal("ehcn_named_plan_ceased_date", "_t_ceased"),
            Reveal("ehcn_named_plan_ceased_reason", "_t_ceased"),
        ),
    ),
    "ssd_ehcp_active_plans": TableSpec("ssd_ehcp_active_plans"),
    "ssd_sen_need": TableSpec("ssd_sen_need"),
    "send_placements": TableSpec("send_placements", reveals=(Reveal("plac_leaving_date", "_t_left"),)),
    "send_annual_reviews": TableSpec(
        "send_annual_reviews",
        reveals=(
            Reveal("anre_decision_date", "_t_decision"),
            Reveal("anre_outcome", "_t_decision"),
            Reveal("anre_phase_transfer_final_date", "_t_pt_final"),
        ),
    ),
    "send_ehcp_audits": TableSpec("send_ehcp_audits", reveals=(Reveal("ehqa_closing_loop_date", "_t_closing"),)),
    "send_post16_activity": TableSpec("send_post16_activity"),
}


def horizon_for(as_of: dt.date) -> dt.date:
    """Last day simulated. Fixed (not the as-of date) so snapshots on different dates agree."""
    return dt.date(max(2027, as_of.year), 12, 31)


@dataclass
class LaSource:
    area_code: str
    world: la_world.LaWorld
    frames: dict[str, pd.DataFrame]


def build_la(
    scale: Scale,
    area_code: str,
    seed: int,
    as_of: dt.date,
    first_year: int = DEFAULT_FIRST_YEAR,
    dirty_rate: float = 0.0,
    nhs_offset: int = 0,
) -> LaSource:
    if first_year > as_of.year:
        raise ValueError(f"first_year {first_year} is after the as-of date {as_of}")
    horizon = horizon_for(as_of)
    targets = LaTargets.for_area(area_code, size=scale.size, last_year=horizon.year)
    world = la_world.simulate(targets, seed, first_year, horizon, nhs_offset=nhs_offset)
    tables = world.tables
    errors: dict[str, pd.DataFrame] = {}
    contract = load_contract(FEED)
    keys = {name: table.primary_key[0] for name, table in contract.tables.items()}
    if dirty_rate > 0:
        rng = np.random.default_rng(np.random.SeedSequence([seed, int(targets.old_la_code), 9]))
        links = {name: table.foreign_keys for name, table in contract.tables.items()}
        protected = None if scale.orphans else dirty.referenced_keys(tables, links)
        tables = dirty.add_structural(tables, keys, dirty_rate, rng, horizon, protected)
        errors = dirty.draw_errors(tables, keys, SPECS, dirty_rate, rng, protected=protected)
    frames = {}
    snaps = {}
    for name, table in contract.tables.items():
        columns = list(table.columns)
        snap = snapshot(tables[name], SPECS[name], as_of, [c for c in columns if c != "last_modified_at"])
        snaps[name] = snap
    snaps["ssd_ehcp_active_plans"] = _with_last_review(snaps["ssd_ehcp_active_plans"], snaps["send_annual_reviews"])
    for name, table in contract.tables.items():
        snap = dirty.apply_errors(snaps[name], errors.get(name), keys[name], as_of)
        frames[name] = finish(snap, SPECS[name], list(table.columns))
    return LaSource(area_code, world, frames)


def _with_last_review(active: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """SEN2 LastReview: the decision date of the plan's latest review, known by the snapshot date."""
    latest = reviews.dropna(subset=["anre_decision_date"]).groupby("anre_active_ehcp_id")["anre_decision_date"].max()
    active = active.copy()
    last = latest.reindex(active["ehcp_active_ehcp_id"].to_numpy()).to_numpy("datetime64[D]")
    active["ehcp_active_ehcp_last_review_date"] = last
    changed = active["_changed"].to_numpy("datetime64[D]")
    active["_changed"] = np.where(~np.isnat(last) & (last > changed), last, changed)
    return active


def build_frames(
    scale: Scale,
    seed: int,
    as_of: dt.date,
    first_year: int = DEFAULT_FIRST_YEAR,
    dirty_rate: float = 0.0,
    area_code: str | None = None,
) -> dict[str, pd.DataFrame]:
    """The contract's tables for one LA of the scale (its home LA unless `area_code` is given).
    Deterministic, so a repeated call in the same process returns copies of the first result."""
    frames = _cached_frames(scale, area_code or scale.home_area, seed, as_of, first_year, dirty_rate)
    return {name: frame.copy() for name, frame in frames.items()}


@lru_cache(maxsize=2)
def _cached_frames(scale, area_code, seed, as_of, first_year, dirty_rate) -> dict[str, pd.DataFrame]:
    return build_la(scale, area_code, seed, as_of, first_year, dirty_rate).frames


# ---------------------------------------------------------------------------------------------
# Writing


def _metadata() -> tuple[sa.MetaData, dict[str, sa.Table]]:
    contract = load_contract(FEED)
    meta = sa.MetaData()
    tables = {
        name: sa.Table(
            name,
            meta,
            *(
                sa.Column(col, _SQL_TYPES[spec.type], primary_key=col in table.primary_key)
                for col, spec in table.columns.items()
            ),
        )
        for name, table in contract.tables.items()
    }
    return meta, tables


def write_tables(
    url: str,
    frames: dict[str, pd.DataFrame],
    replace: bool = True,
    on_rows: Callable[[int], None] | None = None,
    chunk_rows: int = 50_000,
) -> None:
    """Create the contract's tables at `url` and write the frames (missing columns are left null,
    tables without a frame are created empty). `on_rows` is told how many rows each chunk wrote."""
    contract = load_contract(FEED)
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _fast_sqlite)
        if engine.url.database and engine.url.database != ":memory:":
            Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    meta, tables = _metadata()
    with engine.begin() as conn:
        if replace:
            meta.drop_all(conn)
        meta.create_all(conn)
        for name, frame in frames.items():
            spec = contract.tables[name]
            frame = frame.reindex(columns=list(spec.columns))
            for start in range(0, len(frame), chunk_rows):
                chunk = frame.iloc[start : start + chunk_rows]
                if engine.dialect.name == "sqlite":
                    _insert_sqlite(conn, name, spec, chunk)
                else:
                    conn.execute(tables[name].insert(), _records(spec, chunk))
                if on_rows:
                    on_rows(len(chunk))
    engine.dispose()


def _fast_sqlite(dbapi_connection, _record) -> None:
    # A generated file: nothing to lose on a crash, so skip the journal's fsyncs.
    cursor = dbapi_connection.cursor()
    cursor.execute("pragma synchronous = off")
    cursor.execute("pragma journal_mode = memory")
    cursor.close()


def _column_values(kind: str, series: pd.Series, for_sqlite: bool) -> list:
    """One column as Python values the driver takes, None for missing."""
    if kind in ("date", "timestamp"):
        values = pd.to_datetime(series, errors="coerce")
        if for_sqlite:  # stored as ISO text, the way SQLAlchemy's SQLite types store them
            return iso_text(values, "D" if kind == "date" else "us", sep=" ").tolist()
        if kind == "date":
            return [None if pd.isna(v) else v.date() for v in values]
        return [None if pd.isna(v) else v.to_pydatetime() for v in values]
    if kind == "boolean":
        return [_flag(v) for v in series]
    return series.astype(object).where(series.notna(), None).tolist()


def iso_text(values: pd.Series, unit: str, sep: str = "T") -> np.ndarray:
    """ISO 8601 text of datetimes (None where missing), vectorised: strftime is ten times slower."""
    raw = values.to_numpy(f"datetime64[{unit}]")
    text = np.datetime_as_string(raw, unit=unit)
    if sep != "T" and unit != "D":
        text = np.char.replace(text, "T", sep)
    text = text.astype(object)
    text[np.isnat(raw)] = None
    return text


def _flag(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    return "Y" if value else "N"


def _insert_sqlite(conn, name: str, spec, chunk: pd.DataFrame) -> None:
    columns = list(spec.columns)
    values = [_column_values(spec.columns[c].type, chunk[c], True) for c in columns]
    sql = f"insert into {name} ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})"
    conn.exec_driver_sql(sql, list(zip(*values, strict=True)))


def _records(spec, chunk: pd.DataFrame) -> list[dict]:
    columns = list(spec.columns)
    values = [_column_values(spec.columns[c].type, chunk[c], False) for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


# ---------------------------------------------------------------------------------------------
# Whole scale


def target_for(url: str, area_code: str, many: bool) -> str:
    """One database per LA: `{area_code}` in the URL names it; a SQLite file gets a suffix."""
    if "{area_code}" in url:
        return url.replace("{area_code}", area_code)
    if not many:
        return url
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        stem, dot, ext = parsed.database.rpartition(".")
        database = f"{stem}_{area_code}.{ext}" if dot else f"{parsed.database}_{area_code}"
        return parsed.set(database=database).render_as_string(hide_password=False)
    raise ValueError("a scale with several LAs needs '{area_code}' in the target URL (one database per LA)")


def nhs_offsets(scale: Scale, first_year: int, horizon: dt.date) -> dict[str, int]:
    """Where each LA's slice of the synthetic NHS-number pool starts: disjoint blocks sized by the
    people it will need (health-feed children included), wrapping when the pool runs out."""
    offsets, position = {}, 0
    for area in scale.areas():
        targets = LaTargets.for_area(area, size=scale.size, last_year=horizon.year)
        years = range(first_year - 1, horizon.year + 1)
        people = targets.scaled(targets.plans, first_year - 1) + sum(targets.scaled(targets.requests, y) for y in years)
        offsets[area] = position
        position += int(people * 1.3 + 20 * targets.scaled(targets.plans, 2025) * 0.02 * len(years) + 100)
    return offsets


def generate(
    url: str,
    scale: str = "demo",
    seed: int = 42,
    as_of: dt.date | None = None,
    *,
    dirty_rate: float | None = None,
    first_year: int = DEFAULT_FIRST_YEAR,
    size: float = 1.0,
    on_progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Write each LA of the scale to its database; return rows per table (summed over LAs)."""
    chosen = SCALES[scale].resized(size) if size != 1.0 else SCALES[scale]
    as_of = as_of or dt.date.today()
    rate = chosen.dirty_rate if dirty_rate is None else dirty_rate
    areas = chosen.areas()
    offsets = nhs_offsets(chosen, first_year, horizon_for(as_of))
    counts: dict[str, int] = {}
    for area in areas:
        source = build_la(chosen, area, seed, as_of, first_year, rate, offsets[area])
        write_tables(target_for(url, area, len(areas) > 1), source.frames)
        for name, frame in source.frames.items():
            counts[name] = counts.get(name, 0) + len(frame)
        if on_progress:
            on_progress(area, sum(len(f) for f in source.frames.values()))
    return counts
