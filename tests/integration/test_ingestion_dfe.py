"""The DfE EHC plans release files, read as published, into raw_dfe_ehcp_statistics."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from ingestion import landing, load
from ingestion.dfe_ehcp_statistics import release as dfe_ehcp_statistics

RELEASE = Path("/work/shared/reference/dfe_ehcp_2025")
TABLES = ["annual_reviews", "assessments", "caseload", "requests", "sen_needs_all_plans", "timeliness_20_week"]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    if not RELEASE.exists():
        pytest.skip(f"DfE release not at {RELEASE}")
    root = tmp_path_factory.mktemp("dfe")
    con = duckdb.connect(str(root / "build.duckdb"))
    manifest = dfe_ehcp_statistics.intake(RELEASE, root / "landing", b"k" * 32, "release-2025", set())
    load.load_batch(con, manifest)
    return con, landing.read_manifest(manifest), root


def test_every_published_row_lands_typed_with_quirks_handled(loaded):
    con, manifest, _ = loaded
    read = [f.name for f in manifest.files if f.status != "ignored"]
    assert sorted(read) == sorted(f"{t}.csv" for t in TABLES)
    notes = {f.name: f.reason for f in manifest.files if f.status == "ignored"}  # recorded, not read
    assert set(notes.values()) == {"documentation shipped beside the data"} and "data-guidance.txt" in notes
    for table in TABLES:
        published = sum(1 for _ in (RELEASE / f"{table}.csv").open(encoding="utf-8-sig")) - 1
        assert con.execute(f"select count(*) from raw_dfe_ehcp_statistics.{table}").fetchone() == (published,)
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw_dfe_ehcp_statistics' and table_name = 'annual_reviews'"
    ).fetchall()
    names = [c for c, _ in columns]
    assert names.count("review_meeting_prior_24") == 1 and names[0] == "time_period"  # BOM gone, duplicate once
    assert dict(columns)["review_decision_outstanding"] == "BIGINT"
    assert names[-5:] == ["_source_file", "_source_row", "_file_version", "_batch_id", "_loaded_at"]
    # `x` is no value, not a zero and not a reject.
    nulls = con.execute(
        "select count(*) from raw_dfe_ehcp_statistics.timeliness_20_week where plans_issued_den is null"
    ).fetchone()[0]
    assert nulls > 0
    lancashire = con.execute(
        "select review_decision_outstanding, _source_row from raw_dfe_ehcp_statistics.annual_reviews "
        "where new_la_code = 'E10000017' and time_period = '2024' and breakdown_topic = 'All annual reviews'"
    ).fetchall()
    assert len(lancashire) == 1 and lancashire[0][0] is None  # published as -9


def test_negative_counts_are_blanked_and_reported_not_whole_rows(loaded):
    con, manifest, _ = loaded
    blanked = con.execute(
        "select field, count(*), min(reason) from ops.rejected_rows "
        "where feed = 'dfe_ehcp_statistics' and action = 'blanked' group by 1 order by 1"
    ).fetchall()
    assert [(f, n) for f, n, _ in blanked] == [("no_outcome", 182), ("review_decision_outstanding", 1717)]
    assert all(reason.endswith("is below the minimum 0") for _, _, reason in blanked)
    assert con.execute("select count(*) from ops.rejected_rows where action = 'rejected'").fetchone() == (0,)
    for f in manifest.files:
        assert (f.rows_in, f.rows_rejected, f.contract_version) == (f.rows_loaded, 0, "1.1.0")


def test_same_release_twice_loads_once_and_a_file_without_its_bom_is_quarantined(loaded, tmp_path):
    con, manifest, root = loaded
    seen = load.loaded_file_checksums(con, "dfe_ehcp_statistics")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(RELEASE / "requests.csv", inbox)
    (inbox / "assessments.csv").write_bytes((RELEASE / "assessments.csv").read_bytes()[3:])  # re-saved without BOM
    again = landing.read_manifest(dfe_ehcp_statistics.intake(inbox, root / "landing", b"k" * 32, "again", seen))
    status = {f.name: (f.status, f.reason) for f in again.files}
    assert status["requests.csv"] == ("already_loaded", None)
    assert status["assessments.csv"][0] == "quarantined"
    assert status["assessments.csv"][1].startswith("no byte-order mark")
