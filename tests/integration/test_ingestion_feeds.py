"""ICB and manual-return intake on the synthetic generator's dirty files, and a scan proving no raw
NHS number, UPN, ULN or LA person id survives extraction and loading (landing, warehouse, logs)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from ingestion import landing, load
from ingestion.icb_nd_pathway import provider_files as icb_nd_pathway
from ingestion.la_case_management import extract
from ingestion.manual_returns import workbooks as manual_returns
from orchestration.settings import DBT_PRODUCTION_FLAGS
from synthetic.generator import generate_all
from tests.dbt_cli import dbt_build

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    target = f"sqlite:///{out / 'cms.sqlite'}"
    generate_all("demo", seed=4, as_of=AS_OF, target=target, out=out, dirty_rate=0.2, size=0.4, jobs=1,
                 progress=False, icb_months=4)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def icb_loaded(generated, tmp_path_factory, key_bytes):
    root = tmp_path_factory.mktemp("icb")
    con = duckdb.connect(str(root / "build.duckdb"))
    manifest = icb_nd_pathway.intake(generated / "icb_nd_pathway", root / "landing", key_bytes, "run-1", set())
    load.load_batch(con, manifest)
    return con, manifest, root


@pytest.fixture(scope="module")
def key_bytes() -> bytes:
    return b"test-key-" + b"0" * 32


def _rejects(con, feed: str) -> pd.DataFrame:
    return con.execute("select * from ops.rejected_rows where feed = ?", [feed]).df()


def test_icb_intake_catches_each_kind_of_dirt_with_a_reason(icb_loaded):
    con, manifest_path, _ = icb_loaded
    manifest = landing.read_manifest(manifest_path)
    by_status = {}
    for f in manifest.files:
        by_status.setdefault(f.status, []).append(f)
    quarantined = {f.name: f.reason for f in by_status["quarantined"]}
    assert any(" " in name and r == "file name matches no expected pattern" for name, r in quarantined.items())
    assert any(r.endswith("separated by ';' where ',' is expected") for r in quarantined.values())
    reasons = _rejects(con, "icb_nd_pathway")
    said = set(reasons["reason"])
    assert "invalid nhs number" in said  # blanked, the row kept
    assert set(reasons.loc[reasons["reason"] == "invalid nhs number", "action"]) == {"blanked"}
    # Day-first files: the value by its shape, never as written.
    assert "not a valid date (expected YYYY-MM-DD): written like '99/99/9999'" in said
    assert any(r.startswith("unknown code 'A") or r.startswith("unknown code 'ADD'") for r in said)
    assert "missing mandatory field" in said
    assert any(r.startswith("exact duplicate of row ") for r in said)
    assert "date after the end of the snapshot month" in said  # 2034 for 2024
    assert "column not in the contract; ignored" in said  # the extra `notes` column
    flagged = set(reasons.loc[reasons["action"] == "flagged", "reason"])  # kept as sent, reported
    assert flagged <= {
        "assessment started before the referral was received",
        "outcome dated before the referral was received",
    }
    # Reversed columns load by name; resubmissions load as a further version.
    loaded = [f for f in by_status["loaded"] if f.rows_loaded]
    assert any(f.file_version == 2 for f in loaded)
    versions = con.execute("select distinct _file_version from raw_icb_nd_pathway.nd_referrals").fetchall()
    assert {v for (v,) in versions} == {1, 2}
    wrong_place = con.execute(
        "select count(*) from raw_icb_nd_pathway.nd_referrals where _source_file not like provider_ods_code || '_%'"
    ).fetchone()
    assert wrong_place == (0,)
    # Every file and every table accounts for its rows.
    for f in manifest.files:
        assert f.rows_in == f.rows_loaded + f.rows_rejected, f.name
    totals = con.execute(
        "select sum(rows_in), sum(rows_loaded), sum(rows_rejected) from ops.loaded_batches "
        "where feed = 'icb_nd_pathway'"
    ).fetchone()
    assert totals[0] == totals[1] + totals[2] > 0
    assert (
        totals[1]
        == con.execute(
            "select (select count(*) from raw_icb_nd_pathway.nd_referrals) "
            "+ (select count(*) from raw_icb_nd_pathway.nd_waiting_list)"
        ).fetchone()[0]
    )


def test_same_inbox_again_loads_nothing_twice(icb_loaded, generated, key_bytes):
    con, first, root = icb_loaded
    before = con.execute("select count(*) from raw_icb_nd_pathway.nd_referrals").fetchone()
    load.load_batch(con, first)  # the same batch retried
    seen = load.loaded_file_checksums(con, "icb_nd_pathway")
    again = icb_nd_pathway.intake(generated / "icb_nd_pathway", root / "landing", key_bytes, "run-2", seen)
    assert {f.status for f in landing.read_manifest(again).files} == {"already_loaded"}
    load.load_batch(con, again)
    assert con.execute("select count(*) from raw_icb_nd_pathway.nd_referrals").fetchone() == before


def test_a_blocked_agreement_leaves_its_files_unread_for_later(generated, tmp_path, key_bytes):
    """Referrals suspended, waiting lists live: only waiting lists load; referrals load once allowed."""
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    load.ensure_raw_tables(con, "icb_nd_pathway")  # a feed blocked since day one still has typed tables
    assert con.execute("select count(*) from raw_icb_nd_pathway.nd_referrals").fetchone() == (0,)
    inbox = generated / "icb_nd_pathway"
    first = icb_nd_pathway.intake(inbox, tmp_path / "landing", key_bytes, "run-1", set(), tables={"nd_waiting_list"})
    assert {f.table for f in landing.read_manifest(first).files} <= {"nd_waiting_list", None}
    load.load_batch(con, first)
    assert con.execute("select count(*) from raw_icb_nd_pathway.nd_referrals").fetchone() == (0,)
    waiting = con.execute("select count(*) from raw_icb_nd_pathway.nd_waiting_list").fetchone()[0]
    assert waiting > 0

    seen = load.loaded_file_checksums(con, "icb_nd_pathway")
    later = icb_nd_pathway.intake(inbox, tmp_path / "landing", key_bytes, "run-2", seen)
    load.load_batch(con, later)
    assert con.execute("select count(*) from raw_icb_nd_pathway.nd_referrals").fetchone()[0] > 0
    assert con.execute("select count(*) from raw_icb_nd_pathway.nd_waiting_list").fetchone()[0] == waiting


def test_latest_snapshot_of_a_referral_wins(icb_loaded, tmp_path):
    """The rule is dbt's (stg_icb_nd_pathway__referrals over __referral_snapshots), built here on the
    loaded dirty files: one row per referral from its newest snapshot, a resubmission's file replacing
    the one it resubmits, an open referral gone from its provider's newest snapshot flagged deleted."""
    con, _, _ = icb_loaded
    # dbt writes from another process: it builds a copy, and this connection stays open for the others.
    warehouse = tmp_path / "build.duckdb"
    con.execute(f"attach '{warehouse}' as dbt_copy")
    con.execute(f'copy from database "{con.execute("select current_database()").fetchone()[0]}" to dbt_copy')
    con.execute("detach dbt_copy")
    build = dbt_build(
        warehouse, tmp_path, "--select", "+stg_icb_nd_pathway__referrals", *DBT_PRODUCTION_FLAGS,
        env={"SEND_AS_OF": AS_OF.isoformat(), "SEND_RUN_ID": "test"},
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-5000:]
    with duckdb.connect(str(warehouse), read_only=True) as built:
        latest = built.execute("select * from staging.stg_icb_nd_pathway__referrals").fetch_df()
        file_versions = dict(
            built.execute("select distinct _source_file, _file_version from raw_icb_nd_pathway.nd_referrals").fetchall()
        )
    assert not latest.duplicated(["provider_ods_code", "referral_id"]).any()
    months = con.execute("select max(snapshot_date) from raw_icb_nd_pathway.nd_referrals").fetchone()[0]
    assert latest["latest_snapshot_date"].max().date() == months
    resubmitted = con.execute(
        "select provider_ods_code, snapshot_date from raw_icb_nd_pathway.nd_referrals where _file_version = 2 limit 1"
    ).fetchone()
    picked = latest[
        (latest["provider_ods_code"] == resubmitted[0]) & (latest["latest_snapshot_date"].dt.date == resubmitted[1])
    ]
    assert len(picked) and {file_versions[name] for name in picked["source_file"]} == {2}
    vanished = latest[latest["is_deleted_at_provider"]]
    assert vanished["outcome"].isna().all() and (vanished["latest_snapshot_date"].dt.date < months).all()
    assert not latest.loc[latest["latest_snapshot_date"].dt.date == months, "is_deleted_at_provider"].any()


def test_manual_returns_every_mistake_gets_a_message_naming_where(generated, tmp_path, key_bytes):
    con = duckdb.connect()
    manifest = manual_returns.intake(generated / "manual_returns", tmp_path / "landing", key_bytes, "run-1", set())
    load.load_batch(con, manifest)
    rejects = _rejects(con, "manual_returns")
    rejected = rejects[rejects["action"] == "rejected"]
    pattern = (
        # a field's problem names it; a row's own (cells missing, a total under a CSV table) names the row
        r"(kpi_scorecard|pap_milestones|risk_register|survey_results)_[^,]+\.(xlsx|csv)(, sheet \w+)?, "
        r"row \d+(, field |: )"
    )
    assert rejected["reason"].str.match(pattern).all()
    xlsx_rows = rejected[rejected["source"].str.endswith(".xlsx")]
    assert (xlsx_rows["reason"].str.contains(", sheet ") & xlsx_rows["row_number"].gt(0)).all()
    said = " | ".join(rejected["reason"])
    for expected in [
        "is not in the KPI catalogue",  # code typo
        "field period: not in the expected form",  # Oct-25, 2025/10
        "is above the denominator",
        "field submitted_by: submitted_by is empty",
        "enter the number without the % sign",
        "exact duplicate of row",  # pasted twice
        "field rag_status: unknown code 'AMBER/RED'",
        "field due_date: not a valid date",  # TBC
        "is not likelihood x impact",
        "is above the maximum 25",
        "is above responses",
    ]:
        assert expected in said, expected
    totals = con.execute("select count(*) from raw_manual_returns.kpi_scorecard where kpi_code = 'TOTAL'").fetchone()
    assert totals == (0,)  # a total under the table is read, and rejected: not a KPI
    skipped = rejects[rejects["action"] == "skipped"]
    assert skipped["reason"].str.contains("blank: skipped, the rows below it were read").all() and len(skipped)
    summary = con.execute("select sum(rows_in), sum(rows_loaded), sum(rows_rejected) from ops.loaded_batches")
    rows_in, loaded, rejected_rows = summary.fetchone()
    assert rows_in == loaded + rejected_rows and loaded > 0


# -- no raw identifier anywhere --------------------------------------------------------------

TOKEN = re.compile(r"\b[0-9A-Za-z]{7,14}\b")


def _source_identifiers(generated: Path) -> set[str]:
    engine = sa.create_engine(f"sqlite:///{next(generated.glob('*.sqlite'))}")
    with engine.connect() as conn:
        people = pd.read_sql("select pers_person_id, pers_common_child_id from ssd_person", conn)
        send = pd.read_sql("select send_upn, send_uln from ssd_send", conn)
    engine.dispose()
    values = set(people["pers_common_child_id"].dropna()) | set(send["send_upn"].dropna())
    values |= set(send["send_uln"].dropna()) | set(people["pers_person_id"].dropna())
    for path in (generated / "icb_nd_pathway").iterdir():
        text = path.read_text(encoding="utf-8-sig")
        sep = ";" if text.split("\n", 1)[0].count(";") > 3 else ","
        frame = pd.read_csv(path, sep=sep, dtype=str)
        values |= set(frame["nhs_number"].dropna()) if "nhs_number" in frame else set()
    return {v.strip() for v in values if len(v.strip()) >= 7}


def _tokens(text: str) -> set[str]:
    return set(TOKEN.findall(text))


def test_no_raw_identifier_reaches_landing_warehouse_or_logs(generated, tmp_path, key_bytes, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    raw_ids = _source_identifiers(generated)
    assert len(raw_ids) > 1000
    landing_root = tmp_path / "landing"
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    url = f"sqlite:///{next(generated.glob('*.sqlite'))}"
    load.load_batch(con, extract.extract(url, "E10000017", landing_root, key_bytes, run_id="run-1"))
    load.load_batch(con, icb_nd_pathway.intake(generated / "icb_nd_pathway", landing_root, key_bytes, "run-1", set()))
    found: dict[str, set[str]] = {}
    for path in sorted(landing_root.rglob("*")):
        if path.suffix == ".parquet":
            text = pq.read_table(path).to_pandas().astype(str).to_csv()
        elif path.is_file():
            text = path.read_text()
            if path.suffix == ".json":
                json.loads(text)
        else:
            continue
        found[str(path.relative_to(landing_root))] = _tokens(text) & raw_ids
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables where table_schema <> 'information_schema'"
    ).fetchall()
    assert len(tables) > 15
    for schema, table in tables:
        text = con.execute(f"select * from {schema}.{table}").df().astype(str).to_csv()
        found[f"warehouse {schema}.{table}"] = _tokens(text) & raw_ids
    logs = caplog.text + "".join(capsys.readouterr())
    found["logs"] = _tokens(logs) & raw_ids
    leaks = {where: sorted(ids)[:3] for where, ids in found.items() if ids}
    assert leaks == {}
    # The scan can fail: the source's identifiers are findable the same way.
    assert _tokens(next((generated / "icb_nd_pathway").glob("*REFERRALS*.csv")).read_text()) & raw_ids
