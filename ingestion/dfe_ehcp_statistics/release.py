"""DfE "Education, health and care plans" statistics, read as published: byte-order mark, `x` / `z`
(and the other EES symbols) as no value, the duplicated `review_meeting_prior_24` column kept once,
and negative counts (a publisher's data-quality flag) blanked with a reject row of action `blanked`.

Point `inbox` at the release folder (e.g. /work/shared/reference/dfe_ehcp_2025/); the notes shipped
beside the CSV files are skipped. A revised release published under the same names loads as a new
version of each changed file, when it is newer (modification time) than the copy already loaded.
"""

from __future__ import annotations

import functools

from ingestion import files

FEED = "dfe_ehcp_statistics"
# The DfE republishes a corrected release under the same file names: a changed file is loaded as the
# next version of its name (the older kept in raw), staging reads the newest.
RULES = files.FeedRules(
    feed=FEED, rule_action="blanked", ignore_suffixes=(".md", ".txt", ".pdf", ".html"), revisions="same_name"
)


# Land every new release file of an inbox (files.intake), and the feed's entry point (feed.py) doing so for a
# ReadRequest.
intake = functools.partial(files.intake, RULES)
read = functools.partial(files.read, RULES)
