"""The adversarial corpus (tests/adversarial/corpus.py) through the real file intake and load: every
case gets its expected outcome, reason and row counts, good files beside bad ones load in full, and
no planted identifier reaches an operations table, a rejects or landing file, a log line or an alert.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import sqlalchemy

from ingestion import contract, landing, load
from ingestion.dfe_ehcp_statistics import release as dfe_ehcp_statistics
from ingestion.icb_nd_pathway import provider_files as icb_nd_pathway
from ingestion.la_case_management import extract
from ingestion.manual_returns import workbooks as manual_returns
from synthetic.la_case_management import SCALES, build_frames, write_tables
from tests.adversarial import corpus

INTAKES = {
    "icb_nd_pathway": icb_nd_pathway.intake,
    "manual_returns": manual_returns.intake,
    "dfe_ehcp_statistics": dfe_ehcp_statistics.intake,
}
KEY = b"adversarial-key-" + b"0" * 32


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """Every round of the corpus landed and loaded into one warehouse, with every log line kept."""
    root = tmp_path_factory.mktemp("adversarial")
    cases = corpus.all_cases()
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append
    logging.getLogger().addHandler(handler)
    previous_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    con = duckdb.connect(str(root / "build.duckdb"))
    manifests: dict[tuple[str, int], landing.Manifest] = {}
    try:
        source = _la_source(root)
        path = extract.extract(source, AREA, root / "landing", KEY, run_id="adversarial-la", as_of=AS_OF)
        load.load_batch(con, path)
        manifests[("la_case_management", 1)] = landing.read_manifest(path)
        for round_ in sorted({c.round for c in cases}):
            for feed, inbox in corpus.write(cases, root / f"round{round_}", round_).items():
                seen, names = load.loaded_file_checksums(con, feed), load.loaded_file_names(con, feed)
                path = INTAKES[feed](inbox, root / "landing", KEY, f"adversarial-{round_}", seen, names)
                load.load_batch(con, path)
                manifests[(feed, round_)] = landing.read_manifest(path)
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(previous_level)
    yield cases, manifests, con, root, records
    con.close()


AREA, AS_OF = "E10000017", dt.date(2025, 3, 31)


def _la_source(root: Path) -> str:
    """A small LA database as generated, with each LA case's value set in its row (SQLite holds any
    value in any column, as a careless export or a hand fix would)."""
    frames = build_frames(SCALES["demo"], seed=11, as_of=AS_OF, first_year=2024)
    for case in corpus.la_cases():
        frame = frames[case.table].astype(object)
        for column, value in case.cells.items():
            frame.iloc[case.row, frame.columns.get_loc(column)] = value
        frames[case.table] = frame
    url = f"sqlite:///{root / 'cms.sqlite'}"
    write_tables(url, frames)
    return url


def _la_key(case: corpus.SourceCase, root: Path) -> str:
    """The record key the reject of a case's row carries: the source's key, an identifier hashed."""
    spec = contract.load_contract("la_case_management").tables[case.table]
    frames = build_frames(SCALES["demo"], seed=11, as_of=AS_OF, first_year=2024)
    return contract.record_keys_of(spec, frames[case.table].iloc[[case.row]], KEY, AREA).iloc[0]


def _ids(case: corpus.Case) -> str:
    return f"{case.feed}-{case.round}-{case.name}"


def test_the_corpus_is_large_and_covers_every_file_feed():
    cases = corpus.all_cases()
    assert len(cases) >= 60
    feeds = {c.feed for c in cases}
    assert {"icb_nd_pathway", "manual_returns"} <= feeds
    if corpus.RELEASE.exists():
        assert "dfe_ehcp_statistics" in feeds


@pytest.mark.parametrize("index", range(len(corpus.all_cases())), ids=[_ids(c) for c in corpus.all_cases()])
def test_each_case_has_its_expected_outcome(landed, index):
    cases, manifests, con, root, _ = landed
    case = cases[index]
    expect = case.expect
    files = [f for f in manifests[(case.feed, case.round)].files if f.name == case.name]
    if expect.recorded_as:  # a name that may hold anything is recorded by its shape and a keyed hash
        files = [f for f in manifests[(case.feed, case.round)].files if f.name.startswith(expect.recorded_as + " #")]
    assert len(files) == 1, f"{case.what}: {expect.recorded_as or case.name} recorded {len(files)} times"
    got = files[0]
    recorded = got.name
    assert got.status == expect.status, f"{case.what}: {got.status} ({got.reason})"
    if expect.reason:
        assert (got.reason or "").startswith(expect.reason), f"{case.what}: {got.reason}"
    if expect.rows:
        assert (got.rows_in, got.rows_loaded, got.rows_rejected) == expect.rows, case.what
        assert got.rows_in == got.rows_loaded + got.rows_rejected
    if expect.version:
        assert got.file_version == expect.version
    if expect.rejects:
        rejects = con.execute(
            "select row_number, field, reason from ops.rejected_rows where batch_id = ? and source = ?",
            [landing.batch_id_for(case.feed, f"adversarial-{case.round}"), recorded],
        ).fetchall()
        for row, field, reason in expect.rejects:
            assert any(r == row and (field is None or f == field) and reason in why for r, f, why in rejects), (
                f"{case.what}: no reject ({row}, {field}, {reason!r}) among {rejects}"
            )
    if got.status == "loaded" and expect.rows:
        table = got.table
        landed_rows = con.execute(
            f"select count(*) from raw_{case.feed}.{table} where _source_file = ? and _batch_id = ?",
            [recorded, landing.batch_id_for(case.feed, f"adversarial-{case.round}")],
        ).fetchone()[0]
        assert landed_rows == expect.rows[1], f"{case.what}: {landed_rows} rows in raw"


@pytest.mark.parametrize("index", range(len(corpus.la_cases())), ids=[c.what for c in corpus.la_cases()])
def test_each_la_source_case_has_its_expected_reject(landed, index):
    _, _, con, root, _ = landed
    case = corpus.la_cases()[index]
    rejects = con.execute(
        "select record_key, reason, action from ops.rejected_rows where source = ? and field = ?",
        [f"la_case_management.{case.table}", case.field],
    ).fetchall()
    key = _la_key(case, root)
    assert any(k == key and case.reason in why and a == case.action for k, why, a in rejects), (case.what, rejects)


def test_a_drifted_la_source_is_named_in_one_error_before_anything_lands(tmp_path):
    frames = build_frames(SCALES["demo"], seed=11, as_of=AS_OF, first_year=2024)
    url = f"sqlite:///{tmp_path / 'cms.sqlite'}"
    write_tables(url, frames)
    with sqlalchemy.create_engine(url).begin() as conn:  # a table dropped and a column renamed at source
        conn.exec_driver_sql("drop table send_ep_allocations")
        conn.exec_driver_sql("alter table ssd_person rename column pers_postcode to postcode")
    with pytest.raises(contract.ContractDriftError) as drift:
        extract.extract(url, AREA, tmp_path / "landing", KEY, run_id="drifted")
    assert "la_case_management.send_ep_allocations: table missing from source" in str(drift.value)
    assert "pers_postcode" in str(drift.value)
    assert not list((tmp_path / "landing").rglob("*.parquet"))


def test_every_batch_accounts_for_every_row(landed):
    _, manifests, con, _, _ = landed
    for (feed, round_), manifest in manifests.items():
        for table in manifest.tables:
            assert table.rows_in == table.rows_loaded + table.rows_rejected, (feed, round_, table.table)
    ledger = con.execute("select sum(rows_in), sum(rows_loaded), sum(rows_rejected) from ops.loaded_batches")
    rows_in, loaded, rejected = ledger.fetchone()
    assert rows_in == loaded + rejected > 0


def test_values_land_as_meant(landed):
    _, _, con, _, _ = landed
    # A timestamp with an offset lands as UK wall time; postcodes of every written form as their district.
    when = con.execute(
        "select last_updated from raw_icb_nd_pathway.nd_referrals where referral_id = 'B16-0001'"
    ).fetchone()[0]
    assert when.isoformat(sep=" ") == "2025-07-01 10:00:00"
    districts = con.execute(
        "select referral_id, postcode from raw_icb_nd_pathway.nd_referrals where provider_ods_code = 'B17' order by 1"
    ).fetchall()
    assert [d for _, d in districts[:2]] == ["PR7", "PR7"]
    # A revised DfE release: both versions kept, staging's rule (newest version of each file) picks the revision.
    if corpus.RELEASE.exists():  # the DfE cases are built from the release shipped beside the checkout
        versions = con.execute(
            "select _file_version, count(*) from raw_dfe_ehcp_statistics.requests group by 1 order by 1"
        ).fetchall()
        assert versions == [(1, 40), (2, 40)]


# -- the privacy scan --------------------------------------------------------------------------------


def _needles() -> dict[str, re.Pattern]:
    return {
        f"{kind}: {value}": re.compile(re.escape(value), re.IGNORECASE)
        for kind, values in corpus.PLANTED.items()
        for value in values
    }


def _source_text(root: Path) -> str:
    """What the senders sent, as text: every file of every inbox (workbooks read cell by cell)."""
    import openpyxl

    parts = []
    for path in root.rglob("*"):
        if not path.is_file() or "landing" in path.parts:
            continue
        if path.suffix == ".xlsx":
            try:
                book = openpyxl.load_workbook(path, read_only=True)
                parts += [str(v) for s in book for row in s.iter_rows(values_only=True) for v in row if v is not None]
                book.close()
            except Exception:  # noqa: BLE001 - the damaged workbooks of the corpus
                parts.append(path.read_bytes().decode("latin-1"))
        else:
            raw = path.read_bytes()
            parts.append(raw.decode("utf-16") if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else raw.decode("latin-1"))
        parts.append(path.name)
    return "\n".join(parts)


def _outputs(con: duckdb.DuckDBPyConnection, root: Path, records: list[logging.LogRecord]) -> dict[str, str]:
    """Everything the platform wrote: every table of the warehouse, every landed file, every log line."""
    found = {}
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables where table_schema <> 'information_schema'"
    ).fetchall()
    for schema, table in tables:
        found[f"{schema}.{table}"] = con.execute(f"select * from {schema}.{table}").df().astype(str).to_csv()
    for path in (root / "landing").rglob("*"):
        if path.suffix == ".parquet":
            found[str(path.relative_to(root))] = pq.read_table(path).to_pandas().astype(str).to_csv()
        elif path.suffix == ".json":
            found[str(path.relative_to(root))] = path.read_text()
    found["log"] = "\n".join(f"{r.name} {r.getMessage()}" for r in records)
    return found


def test_planted_identifiers_are_in_the_sources(landed):
    *_, root, _ = landed
    sent = _source_text(root)
    missing = [name for name, needle in _needles().items() if not needle.search(sent)]
    assert not missing, f"the scan could not fail for: {missing}"


def test_no_planted_identifier_reaches_any_output(landed):
    _, _, con, root, records = landed
    outputs = _outputs(con, root, records)
    assert any(name.startswith("ops.rejected_rows") for name in outputs) and len(records) > 0
    leaks = [
        (name, where) for name, needle in _needles().items() for where, text in outputs.items() if needle.search(text)
    ]
    assert not leaks, leaks


def test_an_alert_about_a_library_error_carries_no_identifier(landed):
    """A library's exception can quote the value it failed on; the alert redacts it."""
    import pyarrow as pa

    from orchestration import alerts

    try:
        pa.array([f"{corpus.NHS} born {corpus.DOB_UK} at {corpus.POSTCODE}"]).cast(pa.int64())
    except pa.ArrowInvalid as error:
        exception = error
    assert corpus.NHS in str(exception)  # the library does quote it

    class TaskInstance:
        dag_id, task_id, run_id, try_number, max_tries = "send_pipeline", "extract_icb_nd_pathway", "run", 1, 0

    alert = alerts.build_alert({"ti": TaskInstance(), "exception": exception, "logical_date": "2026-01-31"})
    text = json.dumps(alert) + "\n".join(alerts.alert_lines(alert))
    leaks = [name for name, needle in _needles().items() if needle.search(text)]
    assert not leaks, (leaks, text)


def test_the_inbox_keeps_what_it_did_not_read(landed):
    """Deferred and ignored entries stay where they are: nothing is moved or deleted."""
    cases, _, _, root, _ = landed
    left = [c for c in cases if c.expect.status in ("deferred", "ignored")]
    for case in left:
        entry = root / f"round{case.round}" / case.feed / "inbox" / case.name
        assert entry.exists() or entry.is_symlink(), case.what


def _intake_as_unprivileged(inbox: Path, landing_root: Path, run_id: str) -> subprocess.CompletedProcess:
    """The ICB intake in a process that obeys file permissions (root's override dropped with capsh)."""
    code = (
        "import sys; from pathlib import Path; from ingestion.icb_nd_pathway import provider_files as icb_nd_pathway; "
        f"print(icb_nd_pathway.intake(Path({str(inbox)!r}), Path({str(landing_root)!r}), b'k' * 32, {run_id!r}, set()))"
    )
    command = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        if not shutil.which("capsh"):
            pytest.skip("running as root without capsh: file permissions cannot be made to apply")
        command = ["capsh", "--drop=cap_dac_override,cap_dac_read_search", "--", "-c", shlex.join(command)]
    return subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parents[2], timeout=120)


def test_an_unreadable_file_waits_for_the_next_run_and_only_an_unreadable_inbox_is_refused(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good, locked = corpus._waiting_file("G02"), corpus._referral_file("L01")
    (inbox / good).write_text(corpus._csv_text(corpus._waiting("G02"), corpus.WAITING_COLUMNS))
    (inbox / locked).write_text(corpus._csv_text(corpus._referrals("L01")))
    (inbox / locked).chmod(0)  # still being written by another account, or a permissions slip
    try:
        result = _intake_as_unprivileged(inbox, tmp_path / "landing", "run-1")
    finally:
        (inbox / locked).chmod(0o644)
    assert result.returncode == 0, result.stderr[-2000:]
    files = {f.name: f for f in landing.read_manifest(Path(result.stdout.strip())).files}
    assert (files[good].status, files[good].rows_loaded) == ("loaded", 24)
    assert files[locked].status == "deferred"
    assert files[locked].reason == "could not be read now (PermissionError): left for the next run"
    # Readable again: the next run loads it.
    again = _intake_as_unprivileged(inbox, tmp_path / "landing", "run-2")
    files = {f.name: f for f in landing.read_manifest(Path(again.stdout.strip())).files}
    assert (files[locked].status, files[locked].rows_loaded) == ("loaded", 5)
    # The inbox itself refused: that is the feed refused (an IG blocker), not a file's problem.
    inbox.chmod(0)
    try:
        refused = _intake_as_unprivileged(inbox, tmp_path / "landing", "run-3")
    finally:
        inbox.chmod(0o755)
    assert refused.returncode != 0 and "PermissionError" in refused.stderr
