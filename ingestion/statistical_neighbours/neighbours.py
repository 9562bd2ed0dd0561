"""The DfE children's services statistical-neighbour list, read as published: 153 LAs x 10 neighbours,
the band `Close ` with its trailing space (codes are compared trimmed and upper-cased), the empty last
line skipped. Beyond the contract (codes, key, ten neighbours per LA): an LA listed as its own
neighbour is rejected.

Point `inbox` at the folder holding the list (e.g. /work/shared/reference/statistical_neighbours/); the
source note beside it is skipped. A corrected copy under the same name loads as the next version of that
name when it is newer than the copy already loaded; a refresh comes under its own year (`sn_2026_long.csv`)
and staging reads the newest refresh.
"""

from __future__ import annotations

import functools
import re

import pandas as pd

from ingestion import contract as contracts
from ingestion import files

FEED = "statistical_neighbours"


def _checks(table_name: str, table: contracts.Table, found: re.Match, rows: pd.DataFrame) -> list[files.Check]:
    """An LA is never its own neighbour: such a row is a transcription slip."""
    own = rows["SN_code"] == rows["la_code"]
    return [files.Check(own.fillna(False), "SN_code", "the LA listed as its own neighbour")]


RULES = files.FeedRules(
    feed=FEED, ignore_suffixes=(".md", ".txt", ".pdf", ".html"), revisions="same_name", checks=_checks
)

# Land every new file of an inbox (files.intake), and the feed's entry point (feed.py) doing so for a
# ReadRequest.
intake = functools.partial(files.intake, RULES)
read = functools.partial(files.read, RULES)
