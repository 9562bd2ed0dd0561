"""DfE "Education, health and care plans" statistics, read as published: byte-order mark, `x` / `z`
(and the other EES symbols) as no value, the duplicated `review_meeting_prior_24` column kept once,
and negative counts (a publisher's data-quality flag) blanked with a reject row of action `blanked`.

Point `inbox` at the release folder (e.g. /work/shared/reference/dfe_ehcp_2025/); the notes shipped
beside the CSV files are skipped. A revised release published under the same names loads as a new
version of each changed file, when it is newer (modification time) than the copy already loaded.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from ingestion import files
from ingestion.feed import ReadRequest

FEED = "dfe_ehcp_statistics"
# The DfE republishes a corrected release under the same file names: a changed file is loaded as the
# next version of its name (the older kept in raw), staging reads the newest.
RULES = files.FeedRules(
    feed=FEED, rule_action="blanked", ignore_suffixes=(".md", ".txt", ".pdf", ".html"), revisions="same_name"
)


def intake(
    inbox: Path,
    landing_root: Path,
    key: bytes,
    run_id: str,
    seen: set[str],
    loaded_names: Mapping[str, files.LoadedName] | None = None,
    tables: Collection[str] | None = None,
    settle_seconds: float = files.DEFAULT_SETTLE_SECONDS,
) -> Path:
    """Land every new release file of `inbox`; return the manifest path (see `files.intake`)."""
    return files.intake(RULES, inbox, landing_root, key, run_id, seen, loaded_names, tables, settle_seconds)


def read(request: ReadRequest) -> Path:
    """The feed's entry point (feed.py): land the new files of the inbox at `request.location`."""
    known = request.known
    return intake(
        Path(request.location), request.landing_dir, request.key, request.run_id, set(known.seen), known.names,
        request.tables, request.settle_seconds,
    )  # fmt: skip
