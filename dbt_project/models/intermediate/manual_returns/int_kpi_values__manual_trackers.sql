-- KPIs kept in hand-filled trackers, per area and month, with the tracker that computes each in
-- `feed_source` (the catalogue's computing_feed: pap_milestones, risk_register, survey_results):
--   GOV_PAP_MILESTONES_ON_TRACK: milestones BLUE (complete) or GREEN (on track) over all milestones in
--   the month's tracker; GOV_RISKS_ABOVE_TARGET: OPEN risks whose current score is above their target
--   in the month's register; COMM_AWARE_OF_SERVICES / COMM_SUPPORT_RECEIVED: parent carers answering
--   AWARE_OF_SERVICES / RECEIVING_SUPPORT positively, dated to the month the wave closes.
with milestones as (
    select
        period_start,
        count(*) filter (where rag_status in ('BLUE', 'GREEN')) as on_track_or_complete,
        count(*) as milestones
    from {{ ref('stg_manual_returns__pap_milestones') }}
    group by period_start
),

risks as (
    select
        period_start,
        count(*) filter (where status = 'OPEN' and current_score > target_score) as above_target
    from {{ ref('stg_manual_returns__risks') }}
    group by period_start
),

surveys as (
    select
        case question_code
            when 'AWARE_OF_SERVICES' then 'COMM_AWARE_OF_SERVICES'
            when 'RECEIVING_SUPPORT' then 'COMM_SUPPORT_RECEIVED'
        end as kpi_code,
        area_code,
        period_start,
        sum(positive_responses) as positive_responses,
        sum(responses) as responses
    from {{ ref('stg_manual_returns__survey_results') }}
    where
        respondent_group = 'PARENT_CARER'
        and question_code in ('AWARE_OF_SERVICES', 'RECEIVING_SUPPORT')
        and area_code is not null
        and period_start is not null
    group by all
),

long as (
    select
        'pap_milestones' as feed_source,
        'GOV_PAP_MILESTONES_ON_TRACK' as kpi_code,
        areas.area_code,
        milestones.period_start,
        milestones.on_track_or_complete as numerator,
        milestones.milestones as denominator
    from milestones
    cross join {{ ref('int_partnership_areas') }} as areas
    union all
    select
        'risk_register' as feed_source,
        'GOV_RISKS_ABOVE_TARGET' as kpi_code,
        areas.area_code,
        risks.period_start,
        risks.above_target as numerator,
        null as denominator
    from risks
    cross join {{ ref('int_partnership_areas') }} as areas
    union all
    select
        'survey_results' as feed_source,
        kpi_code,
        area_code,
        period_start,
        positive_responses as numerator,
        responses as denominator
    from surveys
)

select
    {{ kpi_value_columns(value='null') }},
    feed_source::varchar as feed_source
from long
