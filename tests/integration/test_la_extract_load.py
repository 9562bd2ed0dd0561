"""LA case-management extraction and loading on real SQLite, PostgreSQL and DuckDB."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from ingestion import load
from ingestion.la_case_management import extract
from synthetic.la_case_management import SCALES, build_frames, write_tables

AS_OF = dt.date(2025, 3, 31)


@pytest.fixture(params=["sqlite", "postgres"])
def source(request, tmp_path):
    frames = build_frames(SCALES["demo"], seed=7, as_of=AS_OF, first_year=2024)
    url = f"sqlite:///{tmp_path / 'cms.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    write_tables(url, frames)
    return url, frames


def _land_and_load(url, tmp_path, key, run_id, con, watermarks=None):
    manifest = extract.extract(url, "E10000017", tmp_path / "landing", key, run_id=run_id, watermarks=watermarks)
    load.load_batch(con, manifest)
    return manifest


def test_full_extract_lands_every_row_and_reload_is_idempotent(source, tmp_path, key):
    url, frames = source
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    manifest = _land_and_load(url, tmp_path, key, "run-1", con)
    load.load_batch(con, manifest)  # the same batch again (a retried load) changes nothing
    for name, frame in frames.items():
        count = con.execute(f"select count(*) from raw_la_case_management.{name}").fetchone()[0]
        assert count == len(frame), name
    accounting = con.execute(
        "select sum(rows_in), sum(rows_loaded), sum(rows_rejected) from ops.loaded_batches"
    ).fetchone()
    assert accounting[0] == accounting[1] + accounting[2] == sum(len(f) for f in frames.values())


def test_incremental_extract_reads_only_changed_rows(source, tmp_path, key):
    url, frames = source
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    _land_and_load(url, tmp_path, key, "run-1", con)
    marks = load.watermarks(con, extract.FEED, "E10000017")
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # a correction arrives a day later
        conn.execute(
            sa.text(
                "update ssd_ehcp_requests set ehcr_ehcp_req_outcome = 'W', last_modified_at = :ts "
                "where ehcr_ehcp_request_id = :rid"
            ),
            {"ts": dt.datetime(2025, 4, 1, 9), "rid": frames["ssd_ehcp_requests"]["ehcr_ehcp_request_id"].iloc[0]},
        )
    engine.dispose()
    manifest = _land_and_load(url, tmp_path, key, "run-2", con, watermarks=marks)
    read = {t.table: t.rows_in for t in load.landing.read_manifest(manifest).tables}
    # The correction plus the rows stamped exactly at the old watermark (read again, >=), not the table.
    requests = frames["ssd_ehcp_requests"]
    at_watermark = requests["last_modified_at"] >= pd.Timestamp(marks["ssd_ehcp_requests"])
    assert read["ssd_ehcp_requests"] == int(at_watermark.sum()) + int(not at_watermark.iloc[0])
    assert read["ssd_ehcp_requests"] < len(requests) / 10
    latest = con.execute(
        "select ehcr_ehcp_req_outcome from raw_la_case_management.ssd_ehcp_requests "
        "where ehcr_ehcp_request_id = ? order by last_modified_at desc limit 1",
        [frames["ssd_ehcp_requests"]["ehcr_ehcp_request_id"].iloc[0]],
    ).fetchone()[0]
    assert latest == "W"


def test_load_rolled_back_half_way_leaves_no_partial_batch(source, tmp_path, key):
    url, _ = source
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    manifest = extract.extract(url, "E10000017", tmp_path / "landing", key, run_id="run-1")
    broken = Path(manifest).parent / "ssd_ehcp_assessment.parquet"
    original = broken.read_bytes()
    broken.write_bytes(original[: len(original) // 2])  # a half-copied file
    with pytest.raises(load.ChecksumMismatch):
        load.load_batch(con, manifest)
    broken.write_bytes(original)
    load.load_batch(con, manifest)
    load.load_batch(con, manifest)
    rows = con.execute(
        "select count(*), count(distinct ehca_ehcp_assessment_id) from raw_la_case_management.ssd_ehcp_assessment"
    ).fetchone()
    assert rows[0] == rows[1] > 0


def test_missing_source_column_fails_by_name(tmp_path, key):
    url = f"sqlite:///{tmp_path / 'cms.sqlite'}"
    write_tables(url, build_frames(SCALES["demo"], seed=7, as_of=AS_OF, first_year=2025))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("alter table ssd_ehcp_requests rename column ehcr_ehcp_req_date to received")
    engine.dispose()
    with pytest.raises(Exception, match="ssd_ehcp_requests: columns missing from source: ehcr_ehcp_req_date"):
        extract.extract(url, "E10000017", tmp_path / "landing", key, run_id="run-1")
