"""LA case-management extraction and loading on real SQLite, PostgreSQL and DuckDB."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from ingestion import contract as contracts
from ingestion import identifiers, load
from ingestion.contract import REJECT_COLUMNS, ContractDriftError
from ingestion.la_case_management import extract
from orchestration import failures
from synthetic.la_case_management import SCALES, build_frames, write_tables

AS_OF = dt.date(2025, 3, 31)


@pytest.fixture(params=["sqlite", "postgres"])
def source(request, tmp_path):
    frames = build_frames(SCALES["demo"], seed=7, as_of=AS_OF, first_year=2024)
    url = f"sqlite:///{tmp_path / 'cms.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    write_tables(url, frames)
    return url, frames


def _land_and_load(url, tmp_path, key, run_id, con, watermarks=None, **options):
    manifest = extract.extract(
        url, "E10000017", tmp_path / "landing", key, run_id=run_id, watermarks=watermarks, **options
    )
    load.load_batch(con, manifest)
    return manifest


def test_full_extract_lands_every_row_and_reload_is_idempotent(source, tmp_path, key):
    url, frames = source
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    manifest = _land_and_load(url, tmp_path, key, "run-1", con)
    assert not contracts._HASHES  # the person ids hashed for every table are not kept after the extract
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
    last_full = load.last_full_reconciliation(con, extract.FEED, "E10000017")
    assert last_full is not None  # the first run, without watermarks, was a full reconciliation
    manifest = _land_and_load(url, tmp_path, key, "run-2", con, watermarks=marks, last_full_at=last_full)
    assert load.landing.read_manifest(manifest).mode == "incremental"  # the full one is not due for 7 days
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


def _deleted(con) -> set[tuple[str, str]]:
    return set(con.execute("select source_table, record_key from raw_la_case_management.deleted_keys").fetchall())


@pytest.fixture(params=["sqlite", "postgres"])
def small_source(request, tmp_path):
    frames = build_frames(SCALES["demo"], seed=7, as_of=AS_OF, first_year=2025)
    url = f"sqlite:///{tmp_path / 'cms.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    write_tables(url, frames)
    return url, frames


def test_full_reconciliation_records_rows_deleted_at_source(small_source, tmp_path, key):
    url, frames = small_source
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    _land_and_load(url, tmp_path, key, "run-1", con)
    assert _deleted(con) == set()  # the table exists, empty, after any LA load
    gone_requests = frames["ssd_ehcp_requests"]["ehcr_ehcp_request_id"].iloc[[3, 40]].tolist()
    gone_person = frames["ssd_person"]["pers_person_id"].iloc[5]
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # deletes never bump a change timestamp: incremental reads cannot see them
        conn.execute(
            sa.text("delete from ssd_ehcp_requests where ehcr_ehcp_request_id in :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": gone_requests},
        )
        conn.execute(sa.text("delete from ssd_person where pers_person_id = :pid"), {"pid": gone_person})
    engine.dispose()
    marks = load.watermarks(con, extract.FEED, "E10000017")
    _land_and_load(url, tmp_path, key, "run-2", con, watermarks=marks, mode="incremental")
    assert _deleted(con) == set()
    manifest = _land_and_load(url, tmp_path, key, "run-3", con, watermarks=marks, mode="full")
    load.load_batch(con, manifest)  # retried: the same rows
    person_hash = identifiers.pseudonymise(key, "la_person_id", gone_person, "E10000017")
    expected = {("ssd_ehcp_requests", r) for r in gone_requests} | {("ssd_person", person_hash)}
    assert _deleted(con) == expected
    detected = con.execute("select distinct _batch_id from raw_la_case_management.deleted_keys").fetchall()
    assert detected == [("la_case_management__run-3__E10000017",)]


def test_reconciliation_is_due_on_the_first_run_and_then_every_n_days():
    now = dt.datetime.now(dt.UTC)
    assert extract.reconciliation_due("auto", has_watermarks=False, last_full_at=None, every_days=7)
    assert extract.reconciliation_due("auto", True, None, 7)
    assert not extract.reconciliation_due("auto", True, (now - dt.timedelta(days=6)).isoformat(), 7)
    assert extract.reconciliation_due("auto", True, (now - dt.timedelta(days=7, minutes=1)).isoformat(), 7)
    assert not extract.reconciliation_due("incremental", False, None, 7)
    assert extract.reconciliation_due("full", True, now.isoformat(), 7)


@pytest.fixture(scope="module")
def dirty_extract(tmp_path_factory):
    """A source with every kind of problem the generator makes, extracted once (not yet loaded)."""
    root = tmp_path_factory.mktemp("dirty")
    url = f"sqlite:///{root / 'cms.sqlite'}"
    write_tables(url, build_frames(SCALES["demo"], seed=7, as_of=AS_OF, first_year=2025, dirty_rate=0.1))
    return root, extract.extract(url, "E10000017", root / "landing", b"test-key-" + b"0" * 32, run_id="run-1")


def test_each_kind_of_source_dirt_is_reported_with_a_reason(dirty_extract):
    root, manifest = dirty_extract
    con = duckdb.connect()
    load.load_batch(con, manifest)
    found = con.execute("select action, field, reason from ops.rejected_rows").df()
    said = set(zip(found["action"], found["reason"], strict=True))
    assert {("blanked", "invalid nhs number"), ("blanked", "invalid upn")} <= said
    assert ("rejected", "missing mandatory field") in said
    assert any(a == "rejected" and r.startswith("unknown code") for a, r in said)
    assert ("flagged", "dated before ehcr_ehcp_req_date") in said  # decided before the request
    assert any(a == "flagged" and r.endswith("a typing slip or a placeholder?") for a, r in said)  # 2034, 2099
    # Untidy codes (' y', 'Asd ') load trimmed and upper-cased; identifiers never appear in a reason.
    outcomes = con.execute("select distinct ehcr_ehcp_req_outcome from raw_la_case_management.ssd_ehcp_requests")
    assert {o for (o,) in outcomes.fetchall()} <= {"Y", "N", "A", "W", "H"}
    assert not found["reason"].str.contains(r"\d{9,}").any()
    person_keys = con.execute(
        "select distinct record_key from ops.rejected_rows where source = 'la_case_management.ssd_person'"
    ).fetchall()
    assert person_keys and all(len(k) == 32 for (k,) in person_keys)  # the LA person id hashed, as in raw
    accounting = con.execute("select sum(rows_in), sum(rows_loaded), sum(rows_rejected) from ops.loaded_batches")
    rows_in, loaded, rejected = accounting.fetchone()
    assert rows_in == loaded + rejected and rejected > 0


def test_load_failing_half_way_rolls_back_and_the_retry_leaves_the_same_rows(dirty_extract):
    root, manifest = dirty_extract
    con = duckdb.connect(str(root / "build.duckdb"))
    batch = load.landing.read_manifest(manifest)
    # The rejects of a late table are not checksummed: spoil them so the load fails after writing earlier tables.
    late = [t for t in batch.tables if t.rejects_file][-1]
    rejects = Path(manifest).parent / late.rejects_file
    original = rejects.read_bytes()
    rejects.write_bytes(b"not parquet")
    with pytest.raises(duckdb.Error):
        load.load_batch(con, manifest)
    schemas = con.execute("select count(*) from information_schema.schemata where schema_name = 'ops'").fetchone()
    assert schemas == (0,)  # nothing of the batch is left, not even the bookkeeping
    rejects.write_bytes(original)
    load.load_batch(con, manifest)
    load.load_batch(con, manifest)
    loaded = con.execute("select sum(rows_loaded), sum(rows_rejected), sum(rows_in) from ops.loaded_batches").fetchone()
    counted = sum(
        con.execute(f"select count(*) from raw_la_case_management.{t.table}").fetchone()[0]
        for t in batch.tables
        if t.file
    )
    assert loaded[0] == counted and loaded[0] + loaded[1] == loaded[2]
    assert con.execute("select count(*) from ops.rejected_rows").fetchone()[0] == sum(
        len(pd.read_parquet(Path(manifest).parent / t.rejects_file)) for t in batch.tables if t.rejects_file
    )


def test_reconciliation_counts_run_dates_not_the_wall_clock_in_a_catch_up():
    """Catch-up runs of past dates happen minutes apart: a week of as-of dates is still a week."""
    assert extract.reconciliation_due("auto", True, "2024-01-01", 7, as_of=dt.date(2024, 1, 8))
    assert not extract.reconciliation_due("auto", True, "2024-01-01", 7, as_of=dt.date(2024, 1, 7))
    assert not extract.reconciliation_due("auto", True, "2024-06-01", 7, as_of=dt.date(2024, 1, 8))  # a rerun


def test_every_missing_table_and_column_is_named_before_anything_is_extracted(tmp_path, key):
    url = f"sqlite:///{tmp_path / 'cms.sqlite'}"
    write_tables(url, build_frames(SCALES["demo"], seed=7, as_of=AS_OF, first_year=2025))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("drop table ssd_ehcp_named_plan")
        conn.exec_driver_sql("drop table send_ep_allocations")
        conn.exec_driver_sql("alter table send_annual_reviews rename column anre_outcome to outcome")
    engine.dispose()
    with pytest.raises(ContractDriftError) as raised:
        extract.extract(url, "E10000017", tmp_path / "landing", key, run_id="run-1")
    said = str(raised.value).split("; ")
    assert said == [  # contract order, one error for all of it
        "la_case_management.send_ep_allocations: table missing from source",
        "la_case_management.ssd_ehcp_named_plan: table missing from source",
        "la_case_management.send_annual_reviews: columns missing from source: anre_outcome",
    ]
    assert failures.classify(raised.value) == failures.FailureClass.DATA_QUALITY  # the source's owner, not on-call
    assert not list((tmp_path / "landing").rglob("*.parquet"))  # nothing read before the check


def _without_primary_key(url: str, table: str) -> None:
    """Real systems without a key constraint (or views joining tables) can send a key twice."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":  # SQLite cannot drop a constraint: copy the table without it
            conn.exec_driver_sql(f"create table {table}__copy as select * from {table}")
            conn.exec_driver_sql(f"drop table {table}")
            conn.exec_driver_sql(f"alter table {table}__copy rename to {table}")
        else:
            conn.exec_driver_sql(f"alter table {table} drop constraint {table}_pkey")
    engine.dispose()


def _copy_rows(url: str, table: str, key_column: str, key_value: str, times: int) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for _ in range(times):
            conn.execute(
                sa.text(f"insert into {table} select * from {table} where {key_column} = :k limit 1"), {"k": key_value}
            )
    engine.dispose()


def _rejects(manifest: Path, table: str) -> pd.DataFrame:
    batch = load.landing.read_manifest(manifest)
    entry = next(t for t in batch.tables if t.table == table)
    if entry.rejects_file is None:
        return pd.DataFrame(columns=REJECT_COLUMNS)
    return pd.read_parquet(Path(manifest).parent / entry.rejects_file)


@pytest.fixture(params=["sqlite", "postgres"])
def tiny_source(request, tmp_path):
    """Nine requests and five people, written by hand: small enough for chunks of two rows."""
    url = f"sqlite:///{tmp_path / 'cms.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    stamp = pd.Timestamp("2025-03-01 09:00")
    requests = pd.DataFrame(
        {
            "ehcr_ehcp_request_id": [f"R0{i}" for i in range(1, 10)],
            "ehcr_send_table_id": [f"S0{i}" for i in range(1, 10)],
            "ehcr_ehcp_req_date": dt.date(2025, 1, 6),
            "ehcr_ehcp_req_outcome": "A",
            "last_modified_at": stamp,
        }
    )
    person = pd.DataFrame({"pers_person_id": [f"P{i}" for i in range(1, 6)], "last_modified_at": stamp})
    write_tables(url, {"ssd_ehcp_requests": requests, "ssd_person": person})
    return url


def test_a_primary_key_repeated_at_source_is_rejected_in_every_row_across_chunks(tiny_source, tmp_path, key):
    url = tiny_source
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    _land_and_load(url, tmp_path, key, "run-1", con)  # R03, R06 and P3 loaded once, before the source went wrong
    _without_primary_key(url, "ssd_ehcp_requests")
    _without_primary_key(url, "ssd_person")
    _copy_rows(url, "ssd_ehcp_requests", "ehcr_ehcp_request_id", "R03", 1)
    _copy_rows(url, "ssd_ehcp_requests", "ehcr_ehcp_request_id", "R06", 2)
    _copy_rows(url, "ssd_person", "pers_person_id", "P3", 1)
    # Ordered by key the requests read R01 R02 R03 R03 R04 R05 R06 R06 R06 R07 R08 R09: chunks of two
    # split R06's rows 7-8 | 9, chunks of three split R03's rows 3 | 4.
    expected = [
        (3, "R03", "primary key repeated at source: 2 rows share it; none loaded until the source is fixed"),
        (4, "R03", "primary key repeated at source: 2 rows share it; none loaded until the source is fixed"),
        (7, "R06", "primary key repeated at source: 3 rows share it; none loaded until the source is fixed"),
        (8, "R06", "primary key repeated at source: 3 rows share it; none loaded until the source is fixed"),
        (9, "R06", "primary key repeated at source: 3 rows share it; none loaded until the source is fixed"),
    ]
    person_hash = identifiers.pseudonymise(key, "la_person_id", "P3", "E10000017")
    for chunk_rows in (2, 3, 50_000):
        manifest = extract.extract(
            url, "E10000017", tmp_path / "landing", key, run_id=f"chunks-{chunk_rows}", chunk_rows=chunk_rows
        )
        requests = _rejects(manifest, "ssd_ehcp_requests").sort_values("row_number")
        found = list(zip(requests["row_number"], requests["record_key"], requests["reason"], strict=True))
        assert found == expected, chunk_rows
        assert set(requests["action"]) == {"rejected"} and set(requests["field"]) == {"ehcr_ehcp_request_id"}
        people = _rejects(manifest, "ssd_person")
        assert list(people["record_key"]) == [person_hash] * 2  # the LA person id hashed, never quoted
        assert not people["reason"].str.contains("P3").any()
        counts = {
            t.table: (t.rows_in, t.rows_loaded, t.rows_rejected) for t in load.landing.read_manifest(manifest).tables
        }
        assert counts["ssd_ehcp_requests"] == (12, 7, 5) and counts["ssd_person"] == (6, 4, 2)
    marks = load.watermarks(con, extract.FEED, "E10000017")
    _land_and_load(url, tmp_path, key, "run-2", con, watermarks=marks, mode="full")
    # Present at source, so not deleted: the version loaded before stays current until the source is fixed.
    assert _deleted(con) == set()
    rejected = con.execute(
        "select count(*) from ops.rejected_rows "
        "where batch_id = 'la_case_management__run-2__E10000017' and action = 'rejected'"
    ).fetchone()
    assert rejected == (7,)
    accounting = con.execute(
        "select rows_in, rows_loaded, rows_rejected from ops.loaded_batches "
        "where batch_id = 'la_case_management__run-2__E10000017' and source_table = 'ssd_ehcp_requests'"
    ).fetchone()
    assert accounting == (12, 7, 5)
    held = con.execute(
        "select count(*) from raw_la_case_management.ssd_ehcp_requests where ehcr_ehcp_request_id in ('R03', 'R06')"
    ).fetchone()
    assert held == (2,)  # from run-1 only


def test_a_change_timestamp_in_the_future_never_hides_later_changes(small_source, tmp_path, key):
    url, frames = small_source
    requests = frames["ssd_ehcp_requests"]
    slipped, corrected = requests["ehcr_ehcp_request_id"].iloc[[10, 20]]
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # 2099 typed for 2025: a slip the source cannot stop
        conn.execute(
            sa.text("update ssd_ehcp_requests set last_modified_at = :ts where ehcr_ehcp_request_id = :rid"),
            {"ts": dt.datetime(2099, 1, 1, 9), "rid": slipped},
        )
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    before = extract.uk_now()
    manifest = _land_and_load(url, tmp_path, key, "run-1", con)
    marks = load.watermarks(con, extract.FEED, "E10000017")
    assert pd.Timestamp(marks["ssd_ehcp_requests"]) <= pd.Timestamp(before)
    assert pd.Timestamp(marks["ssd_ehcp_requests"]) == requests["last_modified_at"].drop(index=10).max()
    flagged = con.execute(
        "select record_key, field, reason from ops.rejected_rows "
        "where source = 'la_case_management.ssd_ehcp_requests' and field = 'last_modified_at'"
    ).fetchall()
    assert len(flagged) == 1 and flagged[0][:2] == (slipped, "last_modified_at")
    assert flagged[0][2].startswith(
        "change timestamp in the future: '2099-01-01 09:00:00' is after the time it was read"
    )
    loaded = next(t for t in load.landing.read_manifest(manifest).tables if t.table == "ssd_ehcp_requests")
    assert (loaded.rows_loaded, loaded.rows_rejected) == (len(requests), 0)  # flagged, still loaded

    with engine.begin() as conn:  # a real correction, saved after that extract
        conn.execute(
            sa.text(
                "update ssd_ehcp_requests set ehcr_ehcp_req_outcome = 'W', last_modified_at = :ts "
                "where ehcr_ehcp_request_id = :rid"
            ),
            {"ts": extract.uk_now().replace(microsecond=0), "rid": corrected},
        )
    engine.dispose()
    last_full = load.last_full_reconciliation(con, extract.FEED, "E10000017")
    manifest = _land_and_load(url, tmp_path, key, "run-2", con, watermarks=marks, last_full_at=last_full)
    assert load.landing.read_manifest(manifest).mode == "incremental"
    latest = con.execute(
        "select ehcr_ehcp_req_outcome from raw_la_case_management.ssd_ehcp_requests "
        "where ehcr_ehcp_request_id = ? order by last_modified_at desc limit 1",
        [corrected],
    ).fetchone()
    assert latest == ("W",)
    slip = con.execute(
        "select count(*) from raw_la_case_management.ssd_ehcp_requests where ehcr_ehcp_request_id = ?", [slipped]
    ).fetchone()
    assert slip == (2,)  # read again (at or after the watermark) and flagged each time until the source is fixed

    # A watermark stored in the future before this cap existed is not trusted: the table is read whole.
    poisoned = {**marks, "ssd_ehcp_requests": "2099-01-01T09:00:00"}
    manifest = extract.extract(
        url, "E10000017", tmp_path / "landing", key, run_id="run-3", watermarks=poisoned, mode="incremental"
    )
    read = {t.table: t.rows_in for t in load.landing.read_manifest(manifest).tables}
    assert read["ssd_ehcp_requests"] == len(requests)


OPTIONAL_SEN2 = {
    "ssd_ehcp_requests": ["ehcr_ehcp_req_rya", "ehcr_ehcp_req_mediation", "ehcr_ehcp_req_tribunal"],
    "ssd_ehcp_assessment": [
        "ehca_ehcp_assessment_mediation",
        "ehca_ehcp_assessment_tribunal",
        "ehca_ehcp_assessment_other_mediation",
        "ehca_ehcp_assessment_other_tribunal",
    ],
}


def test_a_source_without_the_optional_columns_stays_valid_and_old_raw_tables_take_them(tmp_path, key):
    """Contract 1.4.0 added optional SEN2 columns (may_be_absent): a database built to 1.3.0 still
    extracts, the columns landing blank; a raw table made before them gets them on the next load."""
    url = f"sqlite:///{tmp_path / 'cms.sqlite'}"
    write_tables(url, build_frames(SCALES["demo"], seed=7, as_of=AS_OF, first_year=2025))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table, columns in OPTIONAL_SEN2.items():
            for column in columns:
                conn.exec_driver_sql(f"alter table {table} drop column {column}")
    engine.dispose()
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    load.ensure_raw_tables(con, "la_case_management")
    for table, columns in OPTIONAL_SEN2.items():  # raw tables as contract 1.3.0 made them
        for column in columns:
            con.execute(f"alter table raw_la_case_management.{table} drop column {column}")
    _land_and_load(url, tmp_path, key, "run-1", con)
    for table, columns in OPTIONAL_SEN2.items():
        counts = con.execute(
            f"select count(*), {', '.join(f'count({c})' for c in columns)} from raw_la_case_management.{table}"
        ).fetchone()
        assert counts[0] > 0 and set(counts[1:]) == {0}, (table, counts)
