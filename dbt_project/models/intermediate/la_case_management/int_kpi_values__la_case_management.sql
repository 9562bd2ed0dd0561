-- A table, not a view: month-end states fan out plans x months and feed several tests and marts.
{{ config(materialized='table') }}

-- Every KPI the LA case-management feed computes (catalogue rows with computing_feed =
-- la_case_management), long format for kpi/int_kpi_feed_values.sql: one row per KPI, area and month
-- with cases. Event KPIs fall in the month of the event (received, decision, issue, return, meeting,
-- audit, due date); state KPIs are taken on the last day of the month. `value` is set only for the
-- weeks KPIs (mean, maximum), where `denominator` is the number of cases it is taken over.
with requests as (
    select
        *,
        date_trunc('month', received_date)::date as received_month,
        date_trunc('month', decision_date)::date as decision_month
    from {{ ref('int_ehcp_requests_timed') }}
),

issued as (
    select
        *,
        date_trunc('month', plan_issued_date)::date as period_start
    from {{ ref('int_ehcp_assessments_timed') }}
    where plan_issued_date is not null and days_to_issue is not null
),

open_assessments as (
    select * from {{ ref('int_ehcp_open_assessments_month_end') }}
),

advice as (
    select
        *,
        date_trunc('month', received_date)::date as period_start
    from {{ ref('int_ehcp_advice_timed') }}
    where received_date is not null
),

plans_month_end as (
    select * from {{ ref('int_ehcp_plans_month_end') }}
),

audits as (
    select
        *,
        date_trunc('month', audit_date)::date as period_start
    from {{ ref('int_ehcp_audits_assessed') }}
),

reviews as (
    select * from {{ ref('int_annual_reviews_timed') }}
),

audit_coverage as (
    select
        plans.area_code,
        plans.period_start,
        plans.named_plan_id,
        count(audits.audit_id) > 0 as audited_in_12_months
    from plans_month_end as plans
    left join audits
        on
            plans.area_code = audits.area_code
            and plans.active_plan_id = audits.active_plan_id
            and plans.period_end >= audits.audit_date
            and plans.period_end < audits.audit_date + interval 12 month
    group by plans.area_code, plans.period_start, plans.named_plan_id
),

month_ends as (
    select
        area_code,
        period_start,
        (period_start + interval 1 month - interval 1 day)::date as period_end
    from {{ ref('int_feed_periods__la_case_management') }}
),

kpis as (
    select
        'EHCP_REQUESTS' as kpi_code,
        area_code,
        received_month as period_start,
        count(*) as numerator,
        null as denominator,
        null as value
    from requests
    where is_new_request
    group by area_code, received_month

    union all

    select
        'EHCP_DECISION_6WK' as kpi_code,
        area_code,
        decision_month as period_start,
        count(*) filter (where decided_within_6_weeks) as numerator,
        count(*) as denominator,
        null as value
    from requests
    where days_to_decision is not null
    group by area_code, decision_month

    union all

    select
        'EHCP_20WK_ALL' as kpi_code,
        area_code,
        period_start,
        count(*) filter (where issued_within_20_weeks) as numerator,
        count(*) as denominator,
        null as value
    from issued
    group by area_code, period_start

    union all

    -- Exception cases leave numerator and denominator alike (DfE "excluding exceptions").
    select
        'EHCP_20WK_EXCL' as kpi_code,
        area_code,
        period_start,
        count(*) filter (where issued_within_20_weeks) as numerator,
        count(*) as denominator,
        null as value
    from issued
    where not has_20_week_exception
    group by area_code, period_start

    union all

    select
        'EHCP_MEAN_WEEKS_TO_ISSUE' as kpi_code,
        area_code,
        period_start,
        null as numerator,
        count(*) as denominator,
        avg(days_to_issue) / 7.0 as value
    from issued
    group by area_code, period_start

    union all

    select
        'EHCP_OPEN_PAST_20WK' as kpi_code,
        area_code,
        period_start,
        count(*) filter (where is_past_20_weeks) as numerator,
        null as denominator,
        null as value
    from open_assessments
    group by area_code, period_start

    union all

    select
        'EHCP_LONGEST_OPEN_WAIT_WEEKS' as kpi_code,
        area_code,
        period_start,
        null as numerator,
        count(*) as denominator,
        max(days_waiting) / 7.0 as value
    from open_assessments
    group by area_code, period_start

    union all

    select
        case advice_type
            when 'EP' then 'EHCP_ADVICE_EP_6WK'
            when 'HEALTH' then 'EHCP_ADVICE_HEALTH_6WK'
            when 'SOCIAL_CARE' then 'EHCP_ADVICE_SOCIAL_CARE_6WK'
        end as kpi_code,
        area_code,
        period_start,
        count(*) filter (where returned_within_6_weeks) as numerator,
        count(*) as denominator,
        null as value
    from advice
    group by area_code, period_start, advice_type

    union all

    -- An assessment counts once, in the month of its first EP allocation (reallocations are not new).
    select
        'EHCP_EP_ALLOCATIONS' as kpi_code,
        area_code,
        date_trunc('month', first_allocated_date)::date as period_start,
        count(*) as numerator,
        null as denominator,
        null as value
    from (
        select
            area_code,
            assessment_id,
            min(ep_first_allocated_date) as first_allocated_date
        from {{ ref('int_ehcp_advice_timed') }}
        where advice_type = 'EP' and ep_first_allocated_date is not null
        group by area_code, assessment_id
    )
    group by area_code, date_trunc('month', first_allocated_date)

    union all

    select
        'EHCP_ACTIVE_PLANS' as kpi_code,
        area_code,
        period_start,
        count(*) as numerator,
        null as denominator,
        null as value
    from plans_month_end
    group by area_code, period_start

    union all

    select
        'EHCP_AUDITS_COMPLETED' as kpi_code,
        area_code,
        period_start,
        count(*) as numerator,
        null as denominator,
        null as value
    from audits
    group by area_code, period_start

    union all

    -- Numerator: plans in force at month end audited in the 12 months to month end, so the share
    -- never counts a ceased plan against the caseload.
    select
        'EHCP_AUDIT_COVERAGE_12M' as kpi_code,
        area_code,
        period_start,
        count(*) filter (where audited_in_12_months) as numerator,
        count(*) as denominator,
        null as value
    from audit_coverage
    group by area_code, period_start

    union all

    select
        'EHCP_AUDITS_GOOD_OR_BETTER' as kpi_code,
        area_code,
        period_start,
        count(*) filter (where is_good_or_better) as numerator,
        count(*) as denominator,
        null as value
    from audits
    group by area_code, period_start

    union all

    select
        'EHCP_INADEQUATE_CTL_4WK' as kpi_code,
        area_code,
        period_start,
        count(*) filter (where closing_loop_within_4_weeks) as numerator,
        count(*) as denominator,
        null as value
    from audits
    where is_inadequate
    group by area_code, period_start

    union all

    select
        'AR_WITHIN_12M' as kpi_code,
        area_code,
        date_trunc('month', meeting_date)::date as period_start,
        count(*) filter (where held_within_12_months) as numerator,
        count(*) as denominator,
        null as value
    from reviews
    where statutory_due_date is not null
    group by area_code, date_trunc('month', meeting_date)

    union all

    select
        'AR_DECISION_4WK' as kpi_code,
        area_code,
        date_trunc('month', decision_date)::date as period_start,
        count(*) filter (where decided_within_4_weeks) as numerator,
        count(*) as denominator,
        null as value
    from reviews
    where decision_date is not null
    group by area_code, date_trunc('month', decision_date)

    union all

    select
        'AR_PHASE_TRANSFER_ON_TIME' as kpi_code,
        area_code,
        date_trunc('month', phase_transfer_due_date)::date as period_start,
        count(*) filter (where phase_transfer_on_time) as numerator,
        count(*) as denominator,
        null as value
    from reviews
    where phase_transfer_due_date is not null
    group by area_code, date_trunc('month', phase_transfer_due_date)

    union all

    -- A Year 9+ plan with no review held yet counts as not covered.
    select
        'PFA_REVIEW_COVERED' as kpi_code,
        area_code,
        period_start,
        count(*) filter (where latest_review_pfa_covered) as numerator,
        count(*) as denominator,
        null as value
    from plans_month_end
    where school_year >= 9
    group by area_code, period_start

    union all

    select
        'PFA_AUDIT_CLEAR' as kpi_code,
        area_code,
        period_start,
        count(*) filter (where pfa_clear) as numerator,
        count(*) as denominator,
        null as value
    from audits
    where school_year_at_audit >= 9
    group by area_code, period_start

    union all

    -- 16-17 year olds as NCCIS counts them: academic age (age on 31 August) 16 or 17, school years
    -- 12-13. One young person with two plans counts once; no activity confirmed yet is "not known".
    select
        'PFA_NEET_16_17' as kpi_code,
        area_code,
        period_start,
        count(distinct person_key) filter (
            where coalesce(latest_activity_status, 'NOT_KNOWN') in ('NEET', 'NOT_KNOWN')
        ) as numerator,
        count(distinct person_key) as denominator,
        null as value
    from plans_month_end
    where school_year between 12 and 13 and person_key is not null
    group by area_code, period_start
)

-- Only months the feed covers: a stray date outside them (a placeholder or future date) is not a KPI.
select
    kpis.kpi_code::varchar as kpi_code,
    kpis.area_code::varchar as area_code,
    kpis.period_start::date as period_start,
    kpis.numerator::bigint as numerator,
    kpis.denominator::bigint as denominator,
    kpis.value::double as value
from kpis
inner join month_ends
    on
        kpis.area_code = month_ends.area_code
        and kpis.period_start = month_ends.period_start
