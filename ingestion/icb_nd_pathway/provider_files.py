"""ICB / NHS provider files for the neurodevelopmental pathway: referral snapshots and aggregate
waiting lists, one file per provider and month, from a landing folder.

Raw keeps every snapshot with its file name and version; "the latest snapshot of a referral wins"
(the newest snapshot_date, within it the highest file version; a referral still open in its latest
snapshot but missing from its provider's latest file was deleted at the provider) is dbt staging's
rule, written once: stg_icb_nd_pathway__referrals.
"""

from __future__ import annotations

import functools
import re

import pandas as pd

from ingestion import contract as contracts
from ingestion import files

FEED = "icb_nd_pathway"


def _checks(table_name: str, table: contracts.Table, found: re.Match, rows: pd.DataFrame) -> list[files.Check]:
    period = pd.Period(f"{found['period'][:4]}-{found['period'][4:]}", "M")
    month_end = period.end_time.normalize()
    checks = [
        files.Check(
            rows["provider_ods_code"] != found["ods"], "provider_ods_code", "not the provider named in the file name"
        ),
        files.Check(
            rows["snapshot_date"] != month_end, "snapshot_date", f"not the last day of the file's month ({period})"
        ),
    ]
    if table_name != "nd_referrals":
        checks.append(
            files.Check(
                rows["with_support"] > rows["waiting"], "with_support", "more children with support than waiting"
            )
        )
        return checks
    for name, col in table.columns.items():
        if col.type != "date" or name == "snapshot_date":
            continue
        after = rows[name] > month_end
        action = "rejected" if col.required else "blanked"
        checks.append(files.Check(after, name, "date after the end of the snapshot month", action))
    flagged = "flagged"  # kept as sent, reported to the provider
    checks += [
        files.Check(
            rows["assessment_start_date"] < rows["referral_received_date"],
            "assessment_start_date",
            "assessment started before the referral was received",
            flagged,
        ),
        files.Check(
            rows["outcome_date"] < rows["referral_received_date"],
            "outcome_date",
            "outcome dated before the referral was received",
            flagged,
        ),
    ]
    return checks


RULES = files.FeedRules(feed=FEED, checks=_checks)


# Land every new provider file of an inbox (files.intake), and the feed's entry point (feed.py) doing so for a
# ReadRequest.
intake = functools.partial(files.intake, RULES)
read = functools.partial(files.read, RULES)
