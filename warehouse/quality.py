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

DATA_SOURCE_NAME = "send_warehouse"
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
        session = verify_contract_locally(data_sources=[source], contract_file_path=str(path))
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
                        outcome=check_result.outcome.name.lower(),
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


def gate(con: duckdb.DuckDBPyConnection, contracts_dir: Path, run_id: str) -> list[CheckResult]:
    """Verify, record, and raise DataQualityError if any blocking check failed."""
    results = verify(con, contracts_dir)
    record(con, run_id, results)
    failed = [r for r in results if r.blocking]
    if failed:
        raise DataQualityError(failed, checked=len(results))
    return results
