-- Which providers serve each LA and what each sent for every month: a provider serves an LA once any
-- of its files (person-level or aggregate) carried a row for that LA; `has_person_level` /
-- `has_aggregate` say whether its snapshot / waiting list for the month exists (a file with no row for
-- the LA still counts as sent). Used for coverage: an LA's month is only as complete as its providers.
with person_level_files as (
    select distinct
        provider_ods_code,
        snapshot_month as period_start
    from {{ ref('stg_icb_nd_pathway__referral_snapshots') }}
),

aggregate_files as (
    select distinct
        provider_ods_code,
        snapshot_month as period_start
    from {{ ref('stg_icb_nd_pathway__waiting_list') }}
),

served as (
    select distinct
        provider_ods_code,
        local_authority_code as area_code,
        true as sends_person_level
    from {{ ref('stg_icb_nd_pathway__referral_snapshots') }}
    where local_authority_code is not null
    union all
    select distinct
        provider_ods_code,
        local_authority_code as area_code,
        false as sends_person_level
    from {{ ref('stg_icb_nd_pathway__waiting_list') }}
),

providers as (
    select
        provider_ods_code,
        area_code,
        bool_or(sends_person_level) as ever_sent_person_level
    from served
    group by all
),

months as (
    select period_start from person_level_files
    union
    select period_start from aggregate_files
)

select
    providers.area_code,
    providers.provider_ods_code,
    months.period_start,
    providers.ever_sent_person_level,
    person_level_files.provider_ods_code is not null as has_person_level,
    aggregate_files.provider_ods_code is not null as has_aggregate
from providers
cross join months
left join person_level_files
    on
        providers.provider_ods_code = person_level_files.provider_ods_code
        and months.period_start = person_level_files.period_start
left join aggregate_files
    on
        providers.provider_ods_code = aggregate_files.provider_ods_code
        and months.period_start = aggregate_files.period_start
