-- Neurodevelopmental pathway referrals, latest state per referral (its newest monthly snapshot), for
-- drill-down. The child appears only as the keyed hash of the NHS number and the month of birth.
select
    provider_ods_code::varchar as provider_ods_code,
    referral_id::varchar as referral_id,
    local_authority_code::varchar as area_code,
    pathway::varchar as pathway,
    referral_source::varchar as referral_source,
    nhs_number_hash::varchar as nhs_number_hash,
    birth_month::date as birth_month,
    gender::varchar as gender,
    referral_received_date::date as referral_received_date,
    date_trunc('month', referral_received_date)::date as referral_month,
    first_contact_date::date as first_contact_date,
    (first_contact_date - referral_received_date)::integer as days_to_first_contact,
    (first_contact_date - referral_received_date <= 91)::boolean as is_first_contact_within_13_weeks,
    assessment_start_date::date as assessment_start_date,
    (assessment_start_date - referral_received_date)::integer as days_to_assessment_start,
    outcome::varchar as outcome,
    outcome_date::date as outcome_date,
    support_offered::boolean as support_offered,
    support_offered_date::date as support_offered_date,
    (closed_date is null)::boolean as is_open,
    is_deleted_at_provider::boolean as is_deleted_at_provider,
    latest_snapshot_date::date as latest_snapshot_date,
    last_updated::timestamp as last_updated
from {{ ref('stg_icb_nd_pathway__referrals') }}
