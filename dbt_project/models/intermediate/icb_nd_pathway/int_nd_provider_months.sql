-- Which providers serve each LA and pathway, and what each sent for every month. A provider serves an
-- LA's pathway from the first month any of its files (person-level or aggregate) carried a row for it
-- to the last such month; while its newest file still carries one, with no end: it is still serving,
-- and a month without its file is a month missing from the LA's figures. A provider whose later files
-- no longer carry the LA's pathway has stopped serving it: from then on it blocks nothing.
-- `has_person_level` / `has_aggregate` say whether its snapshot / waiting list for the month exists (a
-- file with no row for the LA still counts as sent). Coverage reads this per LA, pathway and month.
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
        pathway,
        snapshot_month as period_start,
        true as sends_person_level
    from {{ ref('stg_icb_nd_pathway__referral_snapshots') }}
    where local_authority_code is not null
    union all
    select distinct
        provider_ods_code,
        local_authority_code as area_code,
        pathway,
        snapshot_month as period_start,
        false as sends_person_level
    from {{ ref('stg_icb_nd_pathway__waiting_list') }}
),

newest_files as (
    select
        provider_ods_code,
        max(period_start) as newest_file_month
    from (
        select * from person_level_files
        union
        select * from aggregate_files
    ) as files
    group by provider_ods_code
),

providers as (
    select
        served.provider_ods_code,
        served.area_code,
        served.pathway,
        bool_or(served.sends_person_level) as ever_sent_person_level,
        min(served.period_start) as first_month,
        -- Null (no end) while the provider's newest file still serves the pathway.
        nullif(max(served.period_start), any_value(newest_files.newest_file_month)) as last_month
    from served
    inner join newest_files on served.provider_ods_code = newest_files.provider_ods_code
    group by served.provider_ods_code, served.area_code, served.pathway
),

months as (
    select period_start from person_level_files
    union
    select period_start from aggregate_files
)

select
    providers.area_code,
    providers.pathway,
    providers.provider_ods_code,
    months.period_start,
    providers.ever_sent_person_level,
    person_level_files.provider_ods_code is not null as has_person_level,
    aggregate_files.provider_ods_code is not null as has_aggregate
from providers
inner join months
    on
        providers.first_month <= months.period_start
        and coalesce(providers.last_month, months.period_start) >= months.period_start
left join person_level_files
    on
        providers.provider_ods_code = person_level_files.provider_ods_code
        and months.period_start = person_level_files.period_start
left join aggregate_files
    on
        providers.provider_ods_code = aggregate_files.provider_ods_code
        and months.period_start = aggregate_files.period_start
