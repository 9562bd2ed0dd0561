-- The latest state of each referral: its row in the newest monthly snapshot that holds it (the
-- platform's one definition of "the latest snapshot of a referral wins"; which file of a month counts
-- is stg_icb_nd_pathway__referral_snapshots'). A referral missing from its provider's newest snapshot
-- without an outcome was deleted at the provider (entered in error): kept here, flagged, and left out
-- of every KPI.
with snapshots as (
    select
        *,
        max(snapshot_month) over (partition by provider_ods_code) as provider_latest_snapshot_month
    from {{ ref('stg_icb_nd_pathway__referral_snapshots') }}
)

select
    provider_ods_code,
    referral_id,
    snapshot_month as latest_snapshot_month,
    snapshot_date as latest_snapshot_date,
    nhs_number_hash,
    birth_month,
    gender,
    postcode_district,
    local_authority_code,
    pathway,
    referral_source,
    referral_received_date,
    first_contact_date,
    assessment_start_date,
    outcome,
    -- An outcome without a date closed the referral no later than the snapshot that shows it.
    coalesce(outcome_date, case when outcome is not null then snapshot_date end) as closed_date,
    outcome_date,
    support_offered,
    support_offered_date,
    last_updated,
    (outcome is null and snapshot_month < provider_latest_snapshot_month) as is_deleted_at_provider,
    source_file
from snapshots
qualify row_number() over (
    partition by provider_ods_code, referral_id
    order by snapshot_month desc, last_updated desc
) = 1
