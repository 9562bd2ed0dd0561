"""The intake rejects, blanks and flags the same rows for the same reasons, and lands the same values,
as the reference recorded in `intake_reference.csv` (the row-by-row implementation it replaced).

Dirty synthetic sources (demo scale, dirty rate 0.2: every kind of problem) go through each synthetic
feed's own read function with a fixed test key, so record keys and hashed identifiers compare too.
Reasons that depend on today's date (a date more than a year ahead, a change timestamp in the future)
are left out: they move with the clock. After a deliberate change to what the intake rejects, write
the reference again and review its diff:

    .venv/bin/python -m tests.integration.test_intake_reference
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import pandas as pd

from ingestion import landing, registry
from ingestion.feed import ReadRequest
from synthetic.generator import generate_all

REFERENCE = Path(__file__).with_name("intake_reference.csv")
AS_OF = dt.date(2026, 3, 31)
KEY = b"intake-reference-test-key-not-a-secret-0123456789"
FEEDS = ("la_case_management", "icb_nd_pathway", "manual_returns")
# A date more than a year after today, a change timestamp after the moment it was read.
CLOCK_REASONS = r"^date after \d{4}-\d{2}-\d{2}: a typing slip|^change timestamp in the future"


def intake_record(workdir: Path) -> pd.DataFrame:
    """Every reject (source, row, key, field, action, reason) and a digest of every landed table."""
    generate_all("demo", seed=7, as_of=AS_OF, target=f"sqlite:///{workdir / 'la.sqlite'}", out=workdir / "drop",
                 dirty_rate=0.2, size=0.3, jobs=1, progress=False, icb_months=4)  # fmt: skip
    landing_dir = workdir / "landing"
    rows = []
    for name in FEEDS:
        feed = registry.feed(name)
        location = f"sqlite:///{workdir / 'la.sqlite'}" if feed.kind == "database" else str(workdir / "drop" / name)
        request = ReadRequest(feed, location, landing_dir, KEY, "reference", AS_OF, area_code="E10000017")
        manifest_path = feed.reader()(request)
        manifest = landing.read_manifest(manifest_path)
        batch_dir = manifest_path.parent
        for table in manifest.tables:
            if table.file:
                rows.append(_digest(name, table.table, batch_dir / table.file))
            if table.rejects_file:
                rows += pd.read_parquet(batch_dir / table.rejects_file).assign(kind="reject").to_dict("records")
        for file in manifest.files:  # what became of each file: counts, and why one was set aside
            counts = f"{file.status} in {file.rows_in} loaded {file.rows_loaded} rejected {file.rows_rejected}"
            rows.append({"kind": "file", "source": file.name, "field": counts, "reason": file.reason})
    record = pd.DataFrame(rows)
    record = record[~record["reason"].fillna("").str.contains(CLOCK_REASONS, regex=True)]
    columns = ["kind", "source", "row_number", "record_key", "field", "action", "reason"]
    record = record.reindex(columns=columns).astype({"row_number": "Int64"}).astype("string").fillna("")
    return record.sort_values(columns).reset_index(drop=True)


def _digest(feed: str, table: str, path: Path) -> dict:
    """The landed table's rows and an order-free digest of their values (each row as text, sorted)."""
    with duckdb.connect() as con:
        lines = sorted(str(row) for row in con.execute(f"select * from read_parquet('{path}')").fetchall())
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    return {"kind": "landed", "source": f"{feed}.{table}", "row_number": len(lines), "reason": digest}


def test_intake_rejects_and_lands_as_the_reference(tmp_path):
    found = intake_record(tmp_path)
    expected = pd.read_csv(REFERENCE, dtype="string", keep_default_na=False)
    assert len(found) > 1000 and (found["kind"] == "reject").sum() > 500  # dirty enough to mean something
    # Each row with its repeat number: the same reject twice must be found twice.
    found, expected = (f.assign(repeat=f.groupby(list(f.columns)).cumcount()) for f in (found, expected))
    merged = found.merge(expected, how="outer", indicator=True)
    differ = merged[merged["_merge"] != "both"]
    assert differ.empty, f"{len(differ)} rows differ (left_only: now, right_only: reference):\n" + differ.head(
        30
    ).to_string(max_colwidth=80)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        written = intake_record(Path(work))
    written.to_csv(REFERENCE, index=False)
    print(f"{REFERENCE}: {len(written)} rows, {(written['kind'] == 'reject').sum()} rejects")
