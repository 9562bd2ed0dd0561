"""ICB / NHS provider files for the neurodevelopmental pathway: referral snapshots and aggregate
waiting lists, one file per provider and month, from a landing folder.

Raw keeps every snapshot with its file name and version; "the latest snapshot of a referral wins"
is applied on read (`LATEST_REFERRALS_SQL`, for dbt staging to follow): the newest snapshot_date,
within it the highest file version; a referral still open in its latest snapshot but missing from
its provider's latest file was deleted at the provider.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path

import pandas as pd

from ingestion import contract as contracts
from ingestion import files

FEED = "icb_nd_pathway"
LATEST_REFERRALS_SQL = """
with latest as (
    select * from raw_icb_nd_pathway.nd_referrals
    qualify row_number() over (
        partition by provider_ods_code, referral_id
        order by snapshot_date desc, _file_version desc, _batch_id desc
    ) = 1
),
provider_latest as (
    select provider_ods_code, max(snapshot_date) as last_snapshot
    from raw_icb_nd_pathway.nd_referrals group by provider_ods_code
)
select
    latest.*,
    -- open in an earlier file, absent from the provider's latest one: deleted at the provider
    latest.outcome is null and latest.snapshot_date < provider_latest.last_snapshot as deleted_at_provider
from latest join provider_latest using (provider_ods_code)
"""


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
    """Land every new provider file of `inbox`; return the manifest path (see `files.intake`)."""
    return files.intake(RULES, inbox, landing_root, key, run_id, seen, loaded_names, tables, settle_seconds)
