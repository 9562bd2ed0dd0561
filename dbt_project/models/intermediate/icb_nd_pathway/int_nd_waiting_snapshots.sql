-- The waiting list at each month end per provider, pathway, LA and month, from both kinds of data:
-- person-level snapshots (data_source 'person_level', counted from int_nd_referral_months) and the
-- aggregate wait-band files ('aggregate'). The median wait (weeks = days / 7) needs person-level rows.
with person_level as (
    select
        provider_ods_code,
        pathway,
        area_code,
        period_start,
        'person_level' as data_source,
        count(*) as waiting,
        count(*) filter (where is_waiting_over_13_weeks) as waiting_over_13_weeks,
        count(*) filter (where is_waiting_over_52_weeks) as waiting_over_52_weeks,
        count(*) filter (where is_waiting_with_support) as waiting_with_support,
        median(days_waiting) / 7.0 as median_wait_weeks
    from {{ ref('int_nd_referral_months') }}
    where is_waiting_at_month_end
    group by all
),

aggregate as (
    select
        provider_ods_code,
        pathway,
        local_authority_code as area_code,
        snapshot_month as period_start,
        'aggregate' as data_source,
        sum(waiting) as waiting,
        sum(waiting) filter (where is_over_13_weeks) as waiting_over_13_weeks,
        sum(waiting) filter (where is_over_52_weeks) as waiting_over_52_weeks,
        sum(with_support) as waiting_with_support,
        null::double as median_wait_weeks
    from {{ ref('stg_icb_nd_pathway__waiting_list') }}
    group by all
),

both_sources as (
    select * from person_level
    union all
    select * from aggregate
)

select
    provider_ods_code,
    pathway,
    area_code,
    period_start,
    data_source,
    waiting::bigint as waiting,
    coalesce(waiting_over_13_weeks, 0)::bigint as waiting_over_13_weeks,
    coalesce(waiting_over_52_weeks, 0)::bigint as waiting_over_52_weeks,
    coalesce(waiting_with_support, 0)::bigint as waiting_with_support,
    median_wait_weeks::double as median_wait_weeks
from both_sources
