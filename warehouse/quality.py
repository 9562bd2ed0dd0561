"""The publication gate on the build copy of the warehouse: Soda Core contracts, then the row-count guard.

`dbt build` has already run every dbt data test, one model at a time (keys present and unique, codes
accepted, relationships to seeds, enforced model contracts). The Soda contracts under
soda_checks/contracts/ do not repeat those: they check the build as it is about to be published, across
tables and runs (marts agreeing with each other, the public profile against the exact figures,
completeness, that this run built the rows). One rule needs a figure from an earlier run, which a Soda
threshold cannot refer to: a published mart must not lose more than MAX_ROW_DROP of its rows since the
last publication. It is checked here, in Python, and recorded in ops.data_quality_results like every
Soda check (row_drop_checks says why not in a contract).

Runs in-process on the caller's DuckDB connection (no second process fights for the file lock).
Failed checks block publication; warned checks are recorded and publish. A Soda runtime error
(bad contract, missing table) fails the gate too: an unverified mart is never published.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.ledger import has_ops_table

DATA_SOURCE_NAME = "send_warehouse"
MARTS_SCHEMA = "marts"  # what publication copies (warehouse/publish.py PUBLISHED_SCHEMAS), guarded for row drops
MAX_ROW_DROP = 0.5  # a mart that lost more than this share of its rows since the last publication: blocks
WARN_ROW_DROP = 0.2  # more than this share: warns (recorded, publishes)
ROW_DROP_CONTRACT = "warehouse/quality.py"
ROW_DROP_CHECK = f"no drop of more than {MAX_ROW_DROP:.0%} in rows since the last publication"
_ROW_DROP_LIKE = "% in rows since the last publication"  # every threshold this check was ever recorded with
_OUTCOMES = {"PASSED": "passed", "FAILED": "failed", "WARN": "warned", "NOT_EVALUATED": "not_evaluated"}
RESULTS_DDL = """
create schema if not exists ops;
create table if not exists ops.data_quality_results (
    run_id varchar, contract varchar, dataset varchar, check_name varchar, column_name varchar,
    outcome varchar, blocking boolean, measured_value double, diagnostics varchar, checked_at timestamptz
);
"""


@dataclass(frozen=True)
class CheckResult:
    contract: str
    dataset: str
    check_name: str
    column_name: str | None
    outcome: str  # passed | warned | failed | not_evaluated
    measured_value: float | None
    diagnostics: dict

    @property
    def blocking(self) -> bool:
        return self.outcome in ("failed", "not_evaluated")


class DataQualityError(RuntimeError):
    """Blocking checks failed: the published warehouse is left as it was."""

    def __init__(self, failed: list[CheckResult], checked: int):
        self.failed = failed
        self.checked = checked
        names = "; ".join(
            f"{r.dataset}: {r.check_name}" + (f" ({r.column_name})" if r.column_name else "") for r in failed
        )
        super().__init__(f"{len(failed)} blocking data-quality check(s) failed: {names}")


class QualityRuntimeError(RuntimeError):
    """Soda could not verify a contract (bad configuration, unreachable table)."""


def contract_paths(contracts_dir: Path) -> list[Path]:
    return sorted(contracts_dir.rglob("*.yml"))


def contract_variables(run_id: str) -> dict[str, str]:
    """Values for the variables a contract may declare. RUN_ID is spliced into SQL text by Soda
    (`'${var.RUN_ID}'`), so a quote in it is doubled."""
    return {"RUN_ID": run_id.replace("'", "''")}


def verify(con: duckdb.DuckDBPyConnection, contracts_dir: Path, run_id: str | None = None) -> list[CheckResult]:
    """Every contract under `contracts_dir`; a contract declaring RUN_ID needs `run_id`."""
    os.environ.setdefault("SODA_CORE_TELEMETRY_ENABLED", "false")  # telemetry stalls offline runs
    from soda_core.contracts import verify_contract_locally
    from soda_duckdb import DuckDBDataSource

    variables = contract_variables(run_id) if run_id is not None else None
    results: list[CheckResult] = []
    for path in contract_paths(contracts_dir):
        name = str(path.relative_to(contracts_dir))
        dataset = f"{path.parent.name}.{path.stem}"  # contracts/<schema>/<table>.yml mirrors the warehouse
        source = DuckDBDataSource.from_existing_cursor(con.cursor(), name=DATA_SOURCE_NAME)
        try:
            session = verify_contract_locally(data_sources=[source], contract_file_path=str(path), variables=variables)
        except Exception as error:  # a contract Soda cannot parse or run is a failed gate, never a pass
            raise QualityRuntimeError(f"Soda could not verify {name}: {error}") from error
        if session.has_errors:
            raise QualityRuntimeError(f"Soda could not verify {name}: {session.get_errors_str()}")
        for verification in session.contract_verification_results:
            for check_result in verification.check_results:
                check = check_result.check
                metrics = dict(check_result.diagnostic_metric_values or {})
                measured = _measured(check_result.threshold_value, metrics)
                results.append(
                    CheckResult(
                        contract=name,
                        dataset=dataset,
                        check_name=check.name,
                        column_name=getattr(check, "column_name", None),
                        outcome=_OUTCOMES.get(check_result.outcome.name, check_result.outcome.name.lower()),
                        measured_value=measured,
                        diagnostics=metrics,
                    )
                )
    return results


def _measured(threshold_value, metrics: dict) -> float | None:
    """The number the check judged (failed rows, invalid or missing count, row count, metric value);
    for a check without one (schema), the first count among its diagnostics, else the rows tested."""
    if isinstance(threshold_value, int | float):
        return float(threshold_value)
    counts = [v for k, v in metrics.items() if k.endswith("_count") and isinstance(v, int | float)]
    value = counts[0] if counts else metrics.get("check_rows_tested")
    return None if value is None else float(value)


def record(con: duckdb.DuckDBPyConnection, run_id: str, results: list[CheckResult]) -> None:
    con.execute(RESULTS_DDL)
    con.execute("delete from ops.data_quality_results where run_id = ?", [run_id])
    con.executemany(
        "insert into ops.data_quality_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [
            [
                run_id,
                r.contract,
                r.dataset,
                r.check_name,
                r.column_name,
                r.outcome,
                r.blocking,
                r.measured_value,
                json.dumps(r.diagnostics, default=str),
            ]
            for r in results
        ],
    )


def mart_row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows in every table of the published schema, contract or not."""
    tables = con.execute(
        "select table_name from information_schema.tables where table_catalog = current_database() "
        "and table_schema = ? and table_type = 'BASE TABLE' order by 1",
        [MARTS_SCHEMA],
    ).fetchall()
    return {
        f"{MARTS_SCHEMA}.{table}": con.execute(f'select count(*) from "{MARTS_SCHEMA}"."{table}"').fetchone()[0]
        for (table,) in tables
    }


def last_published_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, tuple[float, str]]:
    """Per mart, the row count this check recorded in the newest published run (other than `run_id`)
    that counted it: (rows, that run's id)."""
    if not (has_ops_table(con, "pipeline_runs") and has_ops_table(con, "data_quality_results")):
        return {}
    found = con.execute(
        """
        select q.dataset, q.measured_value, q.run_id
        from ops.data_quality_results as q
        inner join ops.pipeline_runs as r on q.run_id = r.run_id
        where r.status = 'published' and q.run_id <> ? and q.contract = ? and q.check_name like ?
            and q.measured_value is not null
        qualify row_number() over (partition by q.dataset order by r.recorded_at desc) = 1
        """,
        [run_id, ROW_DROP_CONTRACT, _ROW_DROP_LIKE],
    ).fetchall()
    return {dataset: (rows, previous_run) for dataset, rows, previous_run in found}


def row_drop_checks(con: duckdb.DuckDBPyConnection, run_id: str, as_of: str | None = None) -> list[CheckResult]:
    """Each published mart's rows against the last publication's: losing more than WARN_ROW_DROP of them
    warns, more than MAX_ROW_DROP blocks. Every mart is counted and recorded (measured_value = rows), so
    the next run has this run's counts to compare with once it is published.

    Why not a Soda check: a Soda 4 threshold is a fixed number in the contract and a check sees only the
    data of this build, while this rule compares with a figure from an earlier run (kept in
    ops.data_quality_results). A metric query reading ops could return the ratio, but it would be
    copied into every contract, miss the marts without one, and still need this count recorded.

    A run older than the published marts (a backfill, a cleared past date) will not publish (it is
    `superseded`): its marts cover fewer months by design, so they are counted, not compared."""
    from warehouse.ledger import newer_publication

    superseded = as_of is not None and newer_publication(con, as_of) is not None
    previous = {} if superseded else last_published_counts(con, run_id)
    checks = []
    for dataset, rows in mart_row_counts(con).items():
        before, before_run = previous.get(dataset, (None, None))
        lost = 1 - rows / before if before else 0.0
        outcome = "failed" if lost > MAX_ROW_DROP else "warned" if lost > WARN_ROW_DROP else "passed"
        checks.append(
            CheckResult(
                contract=ROW_DROP_CONTRACT,
                dataset=dataset,
                check_name=ROW_DROP_CHECK,
                column_name=None,
                outcome=outcome,
                measured_value=float(rows),
                diagnostics={
                    "rows": rows,
                    "previous_rows": before,
                    "previous_run_id": before_run,
                    "share_lost": round(lost, 4) if before else None,
                    "warn_above": WARN_ROW_DROP,
                    "fail_above": MAX_ROW_DROP,
                },
            )
        )
    return checks


def gate(
    con: duckdb.DuckDBPyConnection, contracts_dir: Path, run_id: str, as_of: str | None = None
) -> list[CheckResult]:
    """Verify, record, and raise DataQualityError if any blocking check failed. `as_of`: the run's
    date (ISO), so a run older than the published marts is not held to their row counts."""
    results = verify(con, contracts_dir, run_id)
    results += row_drop_checks(con, run_id, as_of)
    record(con, run_id, results)
    failed = [r for r in results if r.blocking]
    if failed:
        raise DataQualityError(failed, checked=len(results))
    return results
