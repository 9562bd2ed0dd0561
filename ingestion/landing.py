"""Landing area: one folder per batch with Parquet files, rejected rows and a manifest.

The manifest is written last (write-then-rename), so a batch folder without one is an unfinished
extract and is never loaded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from pathlib import Path

from pydantic import BaseModel

MANIFEST = "manifest.json"


class TableBatch(BaseModel):
    table: str
    query: str
    file: str | None  # landed rows, relative to the batch folder
    rejects_file: str | None
    rows_in: int
    rows_loaded: int
    rows_rejected: int
    fields_blanked: int
    sha256: str | None
    max_change_timestamp: str | None
    extra_columns: list[str] = []
    keys_file: str | None = None  # full reconciliation: every primary key present at source


class FileBatch(BaseModel):
    """One delivered file of a file feed and what became of it."""

    name: str  # file name only, never the folder (it may hold a provider's name)
    sha256: str  # empty for a file not read (ignored, deferred)
    table: str | None  # contract table the name matched; None when it matched none
    # loaded | quarantined (set aside with a reason) | already_loaded | ignored (never a delivery: a
    # link, a folder, a hidden or lock file) | deferred (still arriving or unreadable now: next run)
    status: str
    file_version: int = 1
    modified_at: str | None = None  # the file's modification time (UTC), for same-name revisions
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    fields_blanked: int = 0
    contract_version: str
    extra_columns: list[str] = []
    reason: str | None = None  # why a file was set aside, ignored or deferred


class Manifest(BaseModel):
    feed: str
    batch_id: str
    run_id: str  # the pipeline run that extracted it
    area_code: str
    source: str  # where it came from, without credentials
    contract_version: str
    extracted_at: str
    as_of: str | None = None  # the pipeline run's as-of date, when a run extracted it
    mode: str  # incremental | full
    tables: list[TableBatch]
    files: list[FileBatch] = []  # file feeds: every file seen in the inbox

    @property
    def rows_in(self) -> int:
        return sum(t.rows_in for t in self.tables)


def batch_id_for(feed: str, run_id: str, area_code: str = "") -> str:
    """Deterministic per feed, pipeline run and (a feed read per LA) LA, so a retried extract overwrites
    its own batch and never another LA's of the same run."""
    batch = f"{feed}__{re.sub(r'[^A-Za-z0-9_.-]+', '_', run_id)}"
    return f"{batch}__{area_code}" if area_code else batch


def new_batch_dir(landing_root: Path, feed: str, batch_id: str) -> Path:
    path = landing_root / feed / batch_id
    if path.exists():
        shutil.rmtree(path)  # a half-written earlier try of the same batch
    path.mkdir(parents=True)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(batch_dir: Path, manifest: Manifest) -> Path:
    tmp = batch_dir / f".{MANIFEST}.tmp"
    tmp.write_text(manifest.model_dump_json(indent=2))
    final = batch_dir / MANIFEST
    tmp.replace(final)
    return final


def read_manifest(path: Path) -> Manifest:
    return Manifest.model_validate(json.loads(path.read_text()))


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
