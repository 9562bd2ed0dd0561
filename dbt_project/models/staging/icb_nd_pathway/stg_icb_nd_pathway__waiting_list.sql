-- Aggregate waiting list at each month end, per provider, pathway, LA, age band and wait band. A
-- resubmission replaces the provider's whole month. Wait bands are weeks since referral, lower bound
-- exclusive: 13-18 and above are "over 13 weeks", 52-104 and above "over 52 weeks".
{{ config(tags=['as_of_month']) }}
with current_files as (
    {{ icb_nd_pathway_current_files('nd_waiting_list') }}
)

select
    upper(trim(provider_ods_code)) as provider_ods_code,
    snapshot_month,
    (snapshot_month + interval 1 month - interval 1 day)::date as snapshot_date,
    upper(trim(pathway)) as pathway,
    upper(trim(local_authority_code)) as local_authority_code,
    trim(age_band) as age_band,
    trim(wait_band) as wait_band,
    trim(wait_band) in ('13-18', '18-52', '52-104', '104+') as is_over_13_weeks,
    trim(wait_band) in ('52-104', '104+') as is_over_52_weeks,
    waiting,
    with_support,
    _source_file as source_file,
    _file_version as file_version
from current_files
qualify row_number() over (
    partition by provider_ods_code, snapshot_month, pathway, local_authority_code, age_band, wait_band
    order by _source_row desc
) = 1
