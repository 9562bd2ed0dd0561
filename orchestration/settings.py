"""Where the platform keeps its files, read from the environment (no Airflow import here).

Every path has an embedded default under `.local/` in the checkout so `make demo` needs no set-up;
production sets the SEND_* variables (see .env.example).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ingestion import registry

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SODA_CHECKS_DIR = REPO_ROOT / "soda_checks"
WAREHOUSE_POOL = "send_warehouse"  # one slot: the build warehouse has one writer at a time
# dbt unit tests check model logic, not data: CI runs them (tests/integration/test_dbt_unit_tests.py),
# production builds skip them, as dbt recommends. No debug log file: Cosmos runs dbt in a temporary copy
# of the project and deletes the file with it (the task log keeps dbt's output), and writing every
# statement to it cost a tenth of a lancashire build (docs/benchmark.md).
DBT_PRODUCTION_FLAGS = ("--exclude-resource-type", "unit_test", "--log-level-file", "none")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    build_path: Path  # private write-audit-publish copy; only the pipeline opens it
    published_path: Path  # what BI tools read; replaced atomically
    parquet_dir: Path  # Parquet per published table (a symlink to the current version)
    alerts_path: Path  # JSON lines, one per alert sent
    soda_contracts_dir: Path  # one Soda contract per checked table, mirroring the warehouse
    inbox_dir: Path  # where file feeds arrive (SFTP / blob sync): one folder per feed
    inboxes: dict[str, Path]  # file feed -> its folder: inbox_dir/<feed>, or the variable its feed.py names
    # A file changed more recently than this may still be arriving (an SFTP upload without a temporary
    # name): it is left for the next run.
    inbox_settle_seconds: float = 120.0
    # A read-only role publication creates if absent and grants SELECT on the PostgreSQL reporting schema
    # (the native case; the production shape's reporting-db makes it: docker/reporting-db/). None: grants
    # are left to whoever made the role.
    reporting_reader_role: str | None = None
    # The board scorecard's site (a symlink to its newest version) and whether to print its PDF board pack
    # (needs a Chromium: SEND_CHROMIUM or chromium on the PATH).
    scorecard_dir: Path | None = None
    scorecard_pdf: bool = True

    def inbox(self, feed: str) -> Path:
        return self.inboxes[feed]

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("SEND_DATA_DIR", REPO_ROOT / ".local" / "data"))
        inbox_dir = Path(env.get("SEND_INBOX_DIR", data_dir / "inbox"))
        published_path = Path(env.get("SEND_WAREHOUSE_PUBLISHED_PATH", data_dir / "published" / "send.duckdb"))
        return cls(
            data_dir=data_dir,
            landing_dir=Path(env.get("SEND_LANDING_DIR", data_dir / "landing")),
            build_path=Path(env.get("SEND_WAREHOUSE_BUILD_PATH", data_dir / "warehouse" / "build.duckdb")),
            published_path=published_path,
            parquet_dir=Path(env.get("SEND_PUBLISHED_PARQUET_DIR", data_dir / "published" / "parquet")),
            alerts_path=Path(env.get("SEND_ALERTS_PATH", data_dir / "alerts" / "alerts.jsonl")),
            soda_contracts_dir=Path(env.get("SEND_SODA_CONTRACTS_DIR", SODA_CHECKS_DIR / "contracts")),
            inbox_dir=inbox_dir,
            inboxes={
                feed.name: Path(env.get(feed.inbox_env or "", inbox_dir / feed.name))
                for feed in registry.feeds()
                if feed.kind == "files"
            },
            inbox_settle_seconds=float(env.get("SEND_INBOX_SETTLE_SECONDS", "120")),
            reporting_reader_role=env.get("SEND_REPORTING_READER_ROLE") or None,
            scorecard_dir=Path(env.get("SEND_SCORECARD_DIR", published_path.parent / "scorecard")),
            scorecard_pdf=env.get("SEND_SCORECARD_PDF", "1").lower() not in ("0", "false", "no"),
        )
