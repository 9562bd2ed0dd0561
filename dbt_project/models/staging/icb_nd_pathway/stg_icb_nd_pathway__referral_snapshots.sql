-- Every referral in every monthly snapshot, one row per provider, referral and snapshot month. A
-- resubmission (_v2, _v3 ...) replaces the whole earlier file of that provider and month, so a referral
-- only in the replaced file is gone; exact duplicate lines inside a file collapse to one.
{{ config(tags=['as_of_month']) }}
with current_files as (
    {{ icb_nd_pathway_current_files('nd_referrals') }}
)

select
    upper(trim(provider_ods_code)) as provider_ods_code,
    trim(referral_id) as referral_id,
    snapshot_month,
    (snapshot_month + interval 1 month - interval 1 day)::date as snapshot_date,
    nhs_number_hash,
    date_of_birth as birth_month,
    upper(trim(gender)) as gender,
    upper(trim(postcode)) as postcode_district,
    upper(trim(local_authority_code)) as local_authority_code,
    upper(trim(pathway)) as pathway,
    upper(trim(referral_source)) as referral_source,
    referral_received_date,
    first_contact_date,
    assessment_start_date,
    nullif(upper(trim(outcome)), '') as outcome,
    outcome_date,
    support_offered,
    support_offered_date,
    last_updated,
    _source_file as source_file,
    _file_version as file_version,
    _loaded_at as loaded_at
from current_files
qualify row_number() over (
    partition by provider_ods_code, referral_id, snapshot_month
    order by last_updated desc, _source_row desc
) = 1
