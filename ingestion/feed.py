"""What a feed declares about itself, once, in `ingestion/<feed>/feed.py` (read by `ingestion.registry`).

Everything the platform needs to know about a source lives in its package: the agreements the IG
register holds for it, how its newest data is judged, where it arrives, the function that reads it,
the contract beside it, and the dbt models that turn it into KPI values. Orchestration, loading, the
benchmark, the IG register check and dbt's feed lists all read these declarations; nothing else
names a feed. Kept free of heavy imports: the DAG file reads it at parse time.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ingestion.contract import FeedContract

PACKAGES_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Agreement:
    """One entry of the IG register a feed carries (a source may deliver under several)."""

    name: str  # its key in governance/ig_register.yml
    kpi_feeds: tuple[str, ...]  # catalogue `computing_feed` / `aggregate_feed` values it delivers
    tables: tuple[str, ...] = ()  # contract tables it covers (empty: all of them)
    # How new its data is, from what raw holds (one date, null when it has delivered nothing yet);
    # None: not judged (e.g. a public annual release).
    newest_data_sql: str | None = None


@dataclass(frozen=True)
class KpiModels:
    """The dbt models a feed contributes to the KPI fallback (dbt_project/models/intermediate/)."""

    # int_kpi_values__<name> -> the feed_source its rows carry; None: the model names its own
    # (a model computing several catalogue feeds, e.g. the manual trackers).
    values: dict[str, str | None] = field(default_factory=dict)
    periods: tuple[str, ...] = ()  # int_feed_periods__<name>: the months each covers per area
    # Of those, the ones that cover per KPI as well (a `kpi_code` column): e.g. per ND pathway, when a
    # pathway of an LA can be covered while the other is not.
    periods_by_kpi: tuple[str, ...] = ()
    # Of those, the ones whose int_kpi_values__ model computes each KPI per locality as well (seed
    # area_localities): a locality is covered in the months its LA is.
    periods_by_locality: tuple[str, ...] = ()


@dataclass(frozen=True)
class Feed:
    name: str  # the package name, `raw_<name>` in the warehouse, `ops` records' feed
    description: str
    kind: Literal["database", "files"]
    agreements: tuple[Agreement, ...]
    read: str  # "module:function", taking a ReadRequest and returning the landed manifest's path
    kpi_models: KpiModels = field(default_factory=KpiModels)
    connection_id: str | None = None  # database feeds: the Airflow connection of each source
    inbox_env: str | None = None  # file feeds: variable naming its folder (default $SEND_INBOX_DIR/<name>)
    tracks_deletions: bool = False  # full reconciliations land every source key: raw.deleted_keys

    @property
    def package_dir(self) -> Path:
        return PACKAGES_DIR / self.name

    @property
    def contract_path(self) -> Path:
        return self.package_dir / "contract.yml"

    @property
    def raw_schema(self) -> str:
        return f"raw_{self.name}"

    def contract(self) -> FeedContract:
        from ingestion.contract import load_contract

        return load_contract(self.name)

    def reader(self) -> Callable[[ReadRequest], Path]:
        module, _, function = self.read.partition(":")
        return getattr(importlib.import_module(module), function)

    def agreement(self, name: str) -> Agreement:
        return next(a for a in self.agreements if a.name == name)

    def tables_of(self, agreements: list[str]) -> tuple[str, ...] | None:
        """The contract tables the given agreements allow reading; None: all of them."""
        if all(not a.tables for a in self.agreements):
            return None
        return tuple(t for a in self.agreements if a.name in agreements for t in a.tables)


@dataclass(frozen=True)
class Known:
    """What the warehouse already holds of a feed (`ingestion.load.known`), for an incremental read."""

    watermarks: dict[str, str] = field(default_factory=dict)  # database: table -> newest change loaded
    last_full_at: str | None = None  # database: the latest full reconciliation
    seen: frozenset[str] = frozenset()  # files: handled before (`load.loaded_file_checksums`)
    names: dict = field(default_factory=dict)  # files: name -> newest loaded version (`files.LoadedName`)


@dataclass(frozen=True)
class ReadRequest:
    """Everything a feed's read function is given: explicit, so it runs with or without Airflow."""

    feed: Feed
    location: str  # a SQLAlchemy URL (database) or the inbox folder (files)
    landing_dir: Path
    key: bytes  # the pseudonymisation key
    run_id: str
    as_of: dt.date
    known: Known = field(default_factory=Known)
    tables: tuple[str, ...] | None = None  # the contract tables it may read; None: all
    area_code: str = ""  # database feeds: the LA the source belongs to
    settle_seconds: float = 0.0  # files: a file changed more recently may still be arriving
