"""A BI reader process for the publication test: reads both published tables in a loop and checks that
each read is one whole version (catalogue and facts agree). Prints 'ready' after its first read, then
a JSON report once the stop file exists."""

import json
import sys
import time
from pathlib import Path

import duckdb
import sqlalchemy as sa


def read_duckdb(path):
    with duckdb.connect(path, read_only=True) as con:
        version, expected = con.execute("select version, expected_rows from marts.kpi_catalogue").fetchone()
        rows, versions = con.execute("select count(*), count(distinct version) from marts.kpi_values").fetchone()
        fact_version = con.execute("select min(version) from marts.kpi_values").fetchone()[0]
    return version, expected == rows and versions == 1 and fact_version == version


def read_postgres(engine):
    # One snapshot across both tables (REPEATABLE READ): publication replaces the rows of every table in
    # one transaction, so a reader sees one version of all of them, as docs/bi.md tells BI tools to read.
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        version, expected = conn.exec_driver_sql(
            "select version, expected_rows from send_reporting.kpi_catalogue"
        ).one()
        rows, versions, fact_version = conn.exec_driver_sql(
            "select count(*), count(distinct version), min(version) from send_reporting.kpi_values"
        ).one()
    return version, expected == rows and versions == 1 and fact_version == version


def main():
    kind, path, url, stop_file = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool) if kind == "postgres" else None
    report = {"reads": 0, "errors": 0, "torn": 0, "versions": set(), "messages": []}
    deadline = time.monotonic() + 120  # never outlive a broken test
    while not stop_file.exists() and time.monotonic() < deadline:
        try:
            version, whole = read_postgres(engine) if engine else read_duckdb(path)
            report["reads"] += 1
            report["versions"].add(version)
            report["torn"] += 0 if whole else 1
            if report["reads"] == 1:
                print("ready", flush=True)
        except Exception as error:  # noqa: BLE001 - every error is reported, none hidden
            report["errors"] += 1
            report["messages"].append(f"{type(error).__name__}: {error}"[:300])
        time.sleep(0.02)
    report["versions"] = sorted(report["versions"])
    print(json.dumps(report))


if __name__ == "__main__":
    main()
