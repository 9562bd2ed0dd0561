-- Priority III KPIs from the person-level ND feed, per LA (local_authority_code) and month, for each
-- pathway (ND_ASD_*, ND_ADHD_*). Referrals received and first contacts within 13 weeks count events in
-- the month; waiting, over 13 / 52 weeks and support while waiting are the month-end waiting list, where
-- an aggregate-only provider's waiting-list counts are added for its share (a provider that sent a
-- person-level snapshot for the month is counted from it, never twice). The median wait (weeks) is over
-- the person-level waiting children only: bands cannot give a median.
with months as (
    select * from {{ ref('int_nd_referral_months') }}
    where pathway in ('ASD', 'ADHD') and area_code is not null
),

events as (
    select
        area_code,
        pathway,
        period_start,
        count(*) filter (where is_received_in_month) as referrals,
        -- Clocks resolved in the month (contacted in time, or the 91st day passed without): each once.
        count(*) filter (where is_first_contact_within_13_weeks is not null) as first_contacts,
        count(*) filter (where is_first_contact_within_13_weeks) as first_contacts_within_13_weeks,
        count(*) filter (where is_waiting_at_month_end) as waiting_person_level,
        median(days_waiting) / 7.0 as median_wait_weeks
    from months
    group by all
),

-- Per provider and month the person-level count where it exists, else the provider's aggregate.
waiting as (
    select
        snapshots.area_code,
        snapshots.pathway,
        snapshots.period_start,
        sum(snapshots.waiting) as waiting,
        sum(snapshots.waiting_over_13_weeks) as waiting_over_13_weeks,
        sum(snapshots.waiting_over_52_weeks) as waiting_over_52_weeks,
        sum(snapshots.waiting_with_support) as waiting_with_support
    from {{ ref('int_nd_waiting_snapshots') }} as snapshots
    inner join {{ ref('int_nd_provider_months') }} as provider_months
        on
            snapshots.provider_ods_code = provider_months.provider_ods_code
            and snapshots.area_code = provider_months.area_code
            and snapshots.pathway = provider_months.pathway
            and snapshots.period_start = provider_months.period_start
    where
        snapshots.pathway in ('ASD', 'ADHD')
        and (
            (snapshots.data_source = 'person_level')
            or (snapshots.data_source = 'aggregate' and not provider_months.has_person_level)
        )
    group by all
),

long as (
    {{ kpi_select("'ND_' || pathway || '_REFERRALS'", 'events', numerator='referrals', where='referrals > 0') }}
    union all
    {{ kpi_select(
        "'ND_' || pathway || '_FIRST_CONTACT_13WK'", 'events',
        numerator='first_contacts_within_13_weeks', denominator='first_contacts', where='first_contacts > 0'
    ) }}
    union all
    {{ kpi_select(
        "'ND_' || pathway || '_MEDIAN_WAIT_WEEKS'", 'events',
        denominator='waiting_person_level', value='median_wait_weeks', where='waiting_person_level > 0'
    ) }}
    union all
    {{ icb_nd_pathway_waiting_kpis('waiting') }}
)

select {{ kpi_value_columns() }}
from long
