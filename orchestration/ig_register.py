"""The information-governance register: may a feed be read today, and who owns it.

The register is data (`governance/ig_register.yml`, or the file SEND_IG_REGISTER_PATH names),
validated on load so a typo in a status or date stops the run instead of silently reading a feed.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

from orchestration.settings import REPO_ROOT

DEFAULT_PATH = REPO_ROOT / "governance" / "ig_register.yml"
# A source system the DAG reads in one task, and the register feeds (agreements) it carries.


Status = Literal["live", "suspended", "pending_agreement"]


class AreaEntry(BaseModel):
    """One LA's own terms for a feed read per LA: what it states replaces the feed's (its own agreement,
    data owner, a suspension of that LA alone)."""

    model_config = ConfigDict(extra="forbid")
    status: Status | None = None
    agreement_reference: str | None = None
    agreement_expires: dt.date | None = None
    data_owner: str | None = None
    contact: str | None = None
    freshness_limit_days: int | None = None


class FeedEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    status: Status
    agreement_reference: str
    agreement_expires: dt.date | None
    data_owner: str
    contact: str
    freshness_limit_days: int | None  # null: not checked (e.g. public annual statistics)
    areas: dict[str, AreaEntry] = {}  # LA code -> that LA's own terms (feeds read per LA only)

    def for_area(self, area_code: str = "") -> FeedEntry:
        """The entry as it applies to one LA: the feed's terms with the LA's own laid over them."""
        own = self.areas.get(area_code)
        if own is None:
            return self
        return self.model_copy(update={**own.model_dump(exclude_unset=True), "areas": {}})


class Register(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feeds: dict[str, FeedEntry]

    def entry(self, feed: str, area_code: str = "") -> FeedEntry:
        try:
            return self.feeds[feed].for_area(area_code)
        except KeyError:
            raise KeyError(f"feed {feed!r} is not in the IG register; add it before reading it") from None


@dataclass(frozen=True)
class Decision:
    """Whether a feed may be read for a run, and why not."""

    feed: str
    allowed: bool
    reason: str
    data_owner: str
    contact: str
    area_code: str = ""  # the LA, for a feed read per LA


def named(source: str, area_code: str = "") -> str:
    """A feed or source as reasons and notices name it: with its LA when it is read per LA."""
    return f"{source} for {area_code}" if area_code else source


def source_of(feed: str) -> str:
    """The source system (feed of the registry) a register entry is an agreement of."""
    from ingestion import registry

    return registry.feed_of(feed).name if feed in registry.agreements() else feed


def check_covers_registry(register: Register, path: Path | None = None) -> None:
    """Every agreement a feed of the registry declares has its entry, and every entry is one of them:
    a missing entry would stop that feed at its first read, an unknown one is usually a typo."""
    from ingestion import registry

    declared, listed = set(registry.agreements()), set(register.feeds)
    problems = []
    if declared - listed:
        problems.append(f"no entry for {', '.join(sorted(declared - listed))} (declared in ingestion/<feed>/feed.py)")
    if listed - declared:
        problems.append(f"entries no feed declares: {', '.join(sorted(listed - declared))}")
    if problems:
        raise ValueError(f"IG register {path or register_path()}: {'; '.join(problems)}")


def register_path() -> Path:
    return Path(os.environ.get("SEND_IG_REGISTER_PATH", DEFAULT_PATH))


def load_register(path: Path | None = None) -> Register:
    path = path or register_path()
    try:
        return Register.model_validate(yaml.safe_load(path.read_text()))
    except ValueError as error:
        raise ValueError(f"IG register {path} is not valid: {error}") from error


def decide(feed: str, as_of: dt.date, register: Register | None = None, area_code: str = "") -> Decision:
    """Before extracting: a feed not live, or with an agreement expired on the as-of date, is blocked
    (for one LA, `area_code`, when the feed is read per LA)."""
    entry = (register or load_register()).entry(feed, area_code)
    name = named(feed, area_code)
    if entry.status != "live":
        reason = f"{name} is {entry.status.replace('_', ' ')} in the IG register ({entry.agreement_reference})"
    elif entry.agreement_expires is not None and entry.agreement_expires < as_of:
        reason = f"{name}: data-sharing agreement {entry.agreement_reference} expired on {entry.agreement_expires}"
    else:
        reason = ""
    return Decision(feed, not reason, reason, entry.data_owner, entry.contact, area_code)


def stale(
    feed: str, newest: dt.date | None, as_of: dt.date, register: Register | None = None, area_code: str = ""
) -> Decision:
    """After reading: a feed whose newest data is older than its freshness limit counts as blocked."""
    entry = (register or load_register()).entry(feed, area_code)
    name = named(feed, area_code)
    limit = entry.freshness_limit_days
    if limit is None:
        reason = ""
    elif newest is None:
        reason = f"{name} has delivered no data yet"
    elif (as_of - newest).days > limit:
        reason = f"{name}: newest data is from {newest}, {(as_of - newest).days} days before {as_of} (limit {limit})"
    else:
        reason = ""
    return Decision(feed, not reason, reason, entry.data_owner, entry.contact, area_code)


def owner_of_task(task_id: str, register: Register | None = None) -> str | None:
    """The data owner of the feed a task reads (named in its id), for failure alerts."""
    from ingestion import registry

    register = register or load_register()
    for feed in registry.feeds():
        if feed.name in task_id:
            return register.entry(feed.agreements[0].name).data_owner
    return next((entry.data_owner for feed, entry in register.feeds.items() if feed in task_id), None)
