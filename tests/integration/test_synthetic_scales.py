"""Each scale's shape, generated small, against the source contracts: LA databases (SQLite and
PostgreSQL), ICB provider files, manual returns; and the DfE files as published."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from ingestion import contract as contracts
from synthetic.calibration import ENGLAND, LaTargets, all_la_codes, load_targets
from synthetic.generator import generate_all
from synthetic.la_case_management import SCALES, build_frames, write_tables
from tests.synthetic_checks import foreign_key_misses, read_delivered, table_for_file, xlsx_dates_to_iso

AS_OF = dt.date(2026, 3, 31)
LA = contracts.load_contract("la_case_management")
ICB = contracts.load_contract("icb_nd_pathway")
MANUAL = contracts.load_contract("manual_returns")
DFE = contracts.load_contract("dfe_ehcp_statistics")
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "dfe_ehcp_2025"
# Small runs: the scale's LAs at a few per cent of their size (national: three LAs of the 153).
RUNS = {
    "demo": dict(size=0.2),
    "lancashire": dict(size=0.03),
    "region": dict(size=0.03),
    "national": dict(size=0.03, areas=["E09000001", "E10000017", "E06000053"]),
}
ICB_MONTHS = 3


def _read_database(url: str) -> dict[str, pd.DataFrame]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: pd.read_sql(sa.text(f"select * from {name}"), conn) for name in LA.tables}
    finally:
        engine.dispose()


def _assert_la_tables_meet_contract(frames: dict[str, pd.DataFrame], source: str) -> None:
    for name, table in LA.tables.items():
        frame = frames[name]
        assert contracts.check_columns(f"{source}.{name}", table, list(frame.columns)) == []
        checked = contracts.validate(f"{source}.{name}", table, frame)
        assert checked.rejects.empty, checked.rejects.head().to_dict("records")
        assert not frame[table.primary_key].duplicated().any(), f"{name}: duplicate keys"
        assert frame[table.change_timestamp].notna().all()
    assert foreign_key_misses(frames, LA) == {}


@pytest.fixture(scope="module", params=sorted(RUNS))
def generated(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    url = f"sqlite:///{out / 'cms_{area_code}.sqlite'}"
    summary = generate_all(request.param, seed=11, as_of=AS_OF, target=url, out=out, dirty_rate=0.0, jobs=1,
                           progress=False, icb_months=ICB_MONTHS, **RUNS[request.param])  # fmt: skip
    return request.param, out, summary


def test_la_databases_meet_the_contract(generated):
    name, out, summary = generated
    databases = sorted(out.glob("cms_*.sqlite"))
    areas = RUNS[name].get("areas") or SCALES[name].areas()
    assert [p.stem.removeprefix("cms_") for p in databases] == sorted(areas)
    for path in databases:
        frames = _read_database(f"sqlite:///{path}")
        _assert_la_tables_meet_contract(frames, path.stem)  # tiny LAs at a tiny size may have empty tables
        assert summary.la_rows["ssd_ehcp_named_plan"] >= len(frames["ssd_ehcp_named_plan"])
    rare = {"send_assessment_exceptions"}  # Lancashire records almost none (2 of 1,720 plans in 2024)
    assert all(summary.la_rows[t] > 0 for t in set(LA.tables) - rare) and summary.bytes_databases > 0


def test_icb_files_meet_the_contract(generated):
    _, out, _ = generated
    files = sorted((out / "icb_nd_pathway").iterdir())
    months = ICB_MONTHS
    kinds = {"nd_referrals": 0, "nd_waiting_list": 0}
    for path in files:
        match = table_for_file(ICB, path.name)
        assert match, f"{path.name}: name matches no contract rule"
        table_name, table = match
        kinds[table_name] += 1
        frame = read_delivered(path, table)
        assert list(frame.columns) == list(table.columns)  # clean run: exactly the contract's columns
        checked = contracts.validate(path.name, table, frame)
        assert checked.rejects.empty, checked.rejects.head().to_dict("records")
        assert (frame["snapshot_date"] == _month_end_of(path.name)).all()
    assert kinds["nd_referrals"] >= months and kinds["nd_waiting_list"] >= months


def _month_end_of(file_name: str) -> str:
    period = re.search(r"_(\d{6})", file_name).group(1)
    return (pd.Timestamp(f"{period[:4]}-{period[4:]}-01") + pd.offsets.MonthEnd(0)).date().isoformat()


def test_manual_returns_meet_the_contract(generated):
    _, out, _ = generated
    seen = set()
    for path in sorted((out / "manual_returns").iterdir()):
        match = table_for_file(MANUAL, path.name)
        assert match, f"{path.name}: name matches no contract rule"
        table_name, table = match
        seen.add(table_name)
        frame = read_delivered(path, table)
        if path.suffix == ".xlsx":
            frame = xlsx_dates_to_iso(frame, table)
        assert list(frame.columns) == list(table.columns)
        checked = contracts.validate(path.name, table, frame)
        assert checked.rejects.empty, checked.rejects.head().to_dict("records")
        if table_name == "pap_milestones":
            assert len(frame) == 95  # the progress report's count
        if table_name == "kpi_scorecard":
            numbers = frame[["numerator", "denominator"]].astype(float).dropna()  # a mean in weeks has no numerator
            assert len(numbers) and (numbers["numerator"] <= numbers["denominator"]).all()
    assert seen == set(MANUAL.tables)


def test_write_tables_creates_every_contract_table_on_postgresql(pg_url):
    frames = build_frames(SCALES["demo"].resized(0.2), seed=5, as_of=AS_OF, first_year=2025, dirty_rate=0.0)
    write_tables(pg_url, {"ssd_person": frames["ssd_person"]})  # tables without a frame come out empty
    assert len(_read_database(pg_url)["send_annual_reviews"]) == 0
    write_tables(pg_url, frames)
    _assert_la_tables_meet_contract(_read_database(pg_url), "postgres")


def test_national_scale_covers_every_la_at_englands_volumes():
    codes = all_la_codes()
    assert len(codes) == 153 and SCALES["national"].areas() == codes
    england = load_targets().loc[ENGLAND]
    planned = sum(LaTargets.for_area(c).plans[2025] for c in codes)
    assert planned == pytest.approx(float(england["plans_2025"]), rel=0.01)  # about 640,000 plans
    requests = sum(LaTargets.for_area(c).requests[2024] for c in codes)
    assert requests == pytest.approx(float(england["requests_2024"]), rel=0.01)


@pytest.mark.skipif(not REFERENCE.exists(), reason=f"DfE reference files not at {REFERENCE}")
@pytest.mark.parametrize("table_name", sorted(DFE.tables))
def test_dfe_statistics_files_as_published_meet_their_contract(table_name):
    table = DFE.tables[table_name]
    path = REFERENCE / f"{table_name}.csv"
    assert re.fullmatch(table.file.name_pattern, path.name)
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"  # byte-order mark, as the contract says
    raw = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    for duplicated in table.file.duplicate_columns:
        assert header.count(duplicated) == 2
        assert (raw[duplicated] == raw[f"{duplicated}.1"]).all()  # pandas renames the second copy
    frame = read_delivered(path, table).loc[:, lambda f: ~f.columns.duplicated()]
    assert list(frame.columns) == list(table.columns)
    assert (raw.isin(table.file.missing_values)).to_numpy().any() or table_name == "sen_needs_all_plans"
    checked = contracts.validate(table_name, table, frame)
    assert checked.rejects.empty, checked.rejects.head().to_dict("records")
    assert not frame[table.primary_key].duplicated().any()
    negative = {
        name
        for name, column in table.columns.items()
        if column.minimum is not None and (pd.to_numeric(frame[name], errors="coerce") < column.minimum).any()
    }
    assert negative == ({"review_decision_outstanding", "no_outcome"} if table_name == "annual_reviews" else set())
