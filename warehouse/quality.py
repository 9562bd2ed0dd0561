"""Soda Core contract verification on the build copy of the warehouse.

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
ROW_COUNT_CHECK = "Row count"  # Soda's default name for row_count checks
MAX_ROW_DROP = 0.5
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


def verify(con: duckdb.DuckDBPyConnection, contracts_dir: Path) -> list[CheckResult]:
    os.environ.setdefault("SODA_CORE_TELEMETRY_ENABLED", "false")  # telemetry stalls offline runs
    from soda_core.contracts import verify_contract_locally
    from soda_duckdb import DuckDBDataSource

    results: list[CheckResult] = []
    for path in contract_paths(contracts_dir):
        name = str(path.relative_to(contracts_dir))
        dataset = f"{path.parent.name}.{path.stem}"  # contracts/<schema>/<table>.yml mirrors the warehouse
        source = DuckDBDataSource.from_existing_cursor(con.cursor(), name=DATA_SOURCE_NAME)
        try:
            session = verify_contract_locally(data_sources=[source], contract_file_path=str(path))
        except Exception as error:  # a contract Soda cannot parse or run is a failed gate, never a pass
            raise QualityRuntimeError(f"Soda could not verify {name}: {error}") from error
        if session.has_errors:
            raise QualityRuntimeError(f"Soda could not verify {name}: {session.get_errors_str()}")
        for verification in session.contract_verification_results:
            for check_result in verification.check_results:
                check = check_result.check
                metrics = dict(check_result.diagnostic_metric_values or {})
                measured = _headline_metric(metrics)
                results.append(
                    CheckResult(
                        contract=name,
                        dataset=dataset,
                        check_name=check.name,
                        column_name=getattr(check, "column_name", None),
                        outcome=_OUTCOMES.get(check_result.outcome.name, check_result.outcome.name.lower()),
                        measured_value=None if measured is None else float(measured),
                        diagnostics=metrics,
                    )
                )
    return results


def _headline_metric(metrics: dict) -> float | None:
    """The number a check judged: missing_count, invalid_count, duplicate_count...; row counts otherwise."""
    counts = [v for k, v in metrics.items() if k.endswith("_count")]
    return counts[0] if counts else metrics.get("check_rows_tested")


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


def row_drop_checks(con: duckdb.DuckDBPyConnection, results: list[CheckResult]) -> list[CheckResult]:
    """Compare each table's row count with the last published run's: a sudden drop blocks publication.

    Soda 4 thresholds are static numbers, so the comparison with the previous run lives here, fed by
    the row counts the row_count checks recorded in ops.data_quality_results."""
    counts = {r.dataset: r.measured_value for r in results if r.check_name.startswith(ROW_COUNT_CHECK)}
    previous = dict(
        con.execute(
            f"""
            select q.dataset, q.measured_value
            from ops.data_quality_results as q
            join ops.pipeline_runs as r using (run_id)
            where r.status = 'published' and q.check_name like '{ROW_COUNT_CHECK}%'
            qualify row_number() over (partition by q.dataset order by r.recorded_at desc) = 1
            """
        ).fetchall()
        if has_ops_table(con, "pipeline_runs") and has_ops_table(con, "data_quality_results")
        else []
    )
    checks = []
    for dataset, now in counts.items():
        before = previous.get(dataset)
        if before is None or now is None:
            continue
        dropped = before > 0 and now < before * (1 - MAX_ROW_DROP)
        checks.append(
            CheckResult(
                contract="warehouse/quality.py",
                dataset=dataset,
                check_name=f"no drop of more than {MAX_ROW_DROP:.0%} in rows since the last publication",
                column_name=None,
                outcome="failed" if dropped else "passed",
                measured_value=now,
                diagnostics={"previous_rows": before, "rows": now},
            )
        )
    return checks


def gate(con: duckdb.DuckDBPyConnection, contracts_dir: Path, run_id: str) -> list[CheckResult]:
    """Verify, record, and raise DataQualityError if any blocking check failed."""
    results = verify(con, contracts_dir)
    results += row_drop_checks(con, results)
    record(con, run_id, results)
    failed = [r for r in results if r.blocking]
    if failed:
        raise DataQualityError(failed, checked=len(results))
    return results
