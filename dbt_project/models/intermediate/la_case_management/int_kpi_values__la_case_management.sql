-- A table, not a view: month-end states fan out plans x months and feed several tests and marts.
{{ config(materialized='table') }}

-- Every KPI the LA case-management feed computes (catalogue rows with computing_feed =
-- la_case_management), long format for kpi/int_kpi_feed_values.sql: one row per KPI, area and month
-- with cases, for each LA and again for each of its localities (a case placed by its child's postcode
-- district: int_person_localities). Event KPIs fall in the month of the event (received, decision, issue, audit); a
-- statutory clock whose case must not leave the count by waiting longer falls in the month of its
-- deadline (review due date, advice and decision deadlines), done or not; state KPIs are taken on the
-- last day of the month (`period_start` of the month-end models and states below), and each open
-- case past its deadline is counted there until it is done. `value` is set only for the weeks KPIs
-- (mean, maximum), where `denominator` is the number of cases it is taken over.
-- Each KPI is one entry below (macros/kpi_values.sql), read against the catalogue as: of the `cases`
-- (a CTE) that pass `where`, per area and calendar month of `month_of` (period_start for month-end
-- states), kpi_count counts them (or those `meeting` a condition), kpi_share gives those `meeting` it
-- (numerator) of all (denominator), kpi_weeks a statistic of their days / 7 (value).
with requests as (
    select * from {{ ref('int_ehcp_requests_timed') }}
),

issued as (
    select * from {{ ref('int_ehcp_assessments_timed') }}
    where plan_issued_date is not null and days_to_issue is not null
),

open_assessments as (
    select * from {{ ref('int_ehcp_open_assessments_month_end') }}
),

advice as (
    select
        *,
        coalesce(received_date <= deadline_6_weeks, false) as returned_by_deadline
    from {{ ref('int_ehcp_advice_timed') }}
),

-- 40 M rows at national, read by three case sets: DuckDB would copy them into a materialised CTE
-- first (more than half of this model's time); each reader scans the table instead.
plans_month_end as not materialized (
    select * from {{ ref('int_ehcp_plans_month_end') }}
),

audits as (
    select * from {{ ref('int_ehcp_audits_assessed') }}
),

reviews as (
    select
        *,
        coalesce(decision_date <= decision_deadline, false) as decided_by_deadline
    from {{ ref('int_annual_reviews_timed') }}
),

reviews_due as (
    select * from {{ ref('int_annual_reviews_due') }}
),

month_ends as (
    {{ month_ends(ref('int_feed_periods__la_case_management')) }}
),

-- Reviews overdue at month end: the plan in force then, its current review's due date passed (the
-- due date itself is still on time) and no meeting held by then. One review per plan at a time: the
-- next falls due only once a meeting is held.
reviews_overdue as (
    select
        month_ends.area_code,
        month_ends.period_start,
        due.named_plan_id,
        due.person_key
    from month_ends
    inner join reviews_due as due
        on
            month_ends.area_code = due.area_code
            and month_ends.period_end > due.due_date
            and (due.meeting_date is null or month_ends.period_end < due.meeting_date)
            and (due.plan_ceased_date is null or month_ends.period_end < due.plan_ceased_date)
),

-- Review decisions outstanding at month end more than 4 weeks after the meeting (past day 28), while
-- the plan is still in force (a ceased plan owes no decision on its review; a review of a plan the
-- warehouse does not hold, its row rejected at source, cannot be shown in force: AR_OVERDUE and
-- EHCP_ACTIVE_PLANS leave that plan out too).
review_decisions_outstanding as (
    select
        month_ends.area_code,
        month_ends.period_start,
        reviews.review_id,
        reviews.person_key
    from month_ends
    inner join reviews
        on
            month_ends.area_code = reviews.area_code
            and month_ends.period_end > reviews.decision_deadline
            and (reviews.decision_date is null or month_ends.period_end < reviews.decision_date)
            and (reviews.plan_ceased_date is null or month_ends.period_end < reviews.plan_ceased_date)
    where reviews.named_plan_id is not null
),

-- New requests with no decision whether to assess at month end more than 6 weeks (42 days) after
-- receipt. Withdrawn requests (W, undated in the source) and historical rows (H) never count; a Y / N
-- without a decision date cannot be shown decided, so it counts.
requests_pending as (
    select
        month_ends.area_code,
        month_ends.period_start,
        requests.request_id,
        requests.person_key
    from month_ends
    inner join requests
        on
            month_ends.area_code = requests.area_code
            and month_ends.period_end > requests.deadline_6_weeks
            and (requests.decision_date is null or month_ends.period_end < requests.decision_date)
    where requests.is_new_request and requests.decision_outcome is distinct from 'W'
),

-- Advice overdue at month end: requested more than 6 weeks (42 days) before, not returned by then,
-- for an assessment still open then (the backlog); once the assessment is decided the advice is moot.
advice_overdue as (
    select
        open_assessments.area_code,
        open_assessments.period_start,
        advice.advice_id,
        advice.advice_type,
        advice.person_key
    from open_assessments
    inner join month_ends
        on
            open_assessments.area_code = month_ends.area_code
            and open_assessments.period_start = month_ends.period_start
    inner join advice
        on
            open_assessments.area_code = advice.area_code
            and open_assessments.assessment_id = advice.assessment_id
    where
        month_ends.period_end > advice.deadline_6_weeks
        and (advice.received_date is null or month_ends.period_end < advice.received_date)
),

-- An assessment counts once, in the month of its first EP allocation (reallocations are not new).
ep_first_allocations as (
    select
        area_code,
        assessment_id,
        any_value(person_key) as person_key,  -- one assessment, one child
        min(ep_first_allocated_date) as first_allocated_date
    from {{ ref('int_ehcp_advice_timed') }}
    where advice_type = 'EP' and ep_first_allocated_date is not null
    group by area_code, assessment_id
),

-- The months whose 12 months to month end hold an audit of the plan: the audit's month and the 11
-- after it. Few rows (an audit fans out to 12), so the plan-months below join them one to one: joining
-- 40 M plan-months to audits by date range and grouping them back took half of this model at national.
audited_months as (
    select distinct
        audits.area_code,
        audits.active_plan_id,
        months.period_start::date as period_start
    from audits
    cross join
        unnest(
            range(
                date_trunc('month', audits.audit_date),
                date_trunc('month', audits.audit_date) + interval 12 month,
                interval 1 month
            )
        ) as months (period_start)
),

-- Plans in force at month end, audited in the 12 months to month end or not, so the coverage share
-- never counts a ceased plan against the caseload.
audit_coverage as (
    select
        plans.area_code,
        plans.period_start,
        plans.named_plan_id,
        plans.person_key,
        audited.active_plan_id is not null as audited_in_12_months
    from plans_month_end as plans
    left join audited_months as audited
        on
            plans.area_code = audited.area_code
            and plans.active_plan_id = audited.active_plan_id
            and plans.period_start = audited.period_start
),

-- Every set of cases once for its LA and once for the child's locality (macros/kpi_values.sql).
{%- set case_sets = [
    'requests', 'issued', 'requests_pending', 'open_assessments', 'advice', 'advice_overdue',
    'ep_first_allocations', 'plans_month_end', 'audits', 'audit_coverage', 'reviews_due',
    'reviews_overdue', 'reviews', 'review_decisions_outstanding',
] %}
{#- The plan-months twice over (80 M rows at national) would be copied whole for their three KPIs: each
    reads them afresh instead (this model 12-15 -> 10 s alone at national, the same rows). #}
{% for cases in case_sets %}
    {{ cases }}_by_area as {% if cases == 'plans_month_end' %}not materialized {% endif %}(
        {{ with_localities(cases) }}
    ),
{% endfor %}

kpis as (
    {{ kpi_count('EHCP_REQUESTS', 'requests_by_area', month_of='received_date', where='is_new_request') }}
    union all
    {{ kpi_share('EHCP_DECISION_6WK', 'requests_by_area', month_of='decision_date',
        meeting='decided_within_6_weeks', where='days_to_decision is not null') }}
    union all
    {{ kpi_count('EHCP_DECISIONS_PENDING_6WK', 'requests_pending_by_area', month_of='period_start') }}
    union all
    {{ kpi_share('EHCP_20WK_ALL', 'issued_by_area', month_of='plan_issued_date', meeting='issued_within_20_weeks') }}
    union all
    -- Exception cases leave numerator and denominator alike (DfE "excluding exceptions").
    {{ kpi_share('EHCP_20WK_EXCL', 'issued_by_area', month_of='plan_issued_date',
        meeting='issued_within_20_weeks', where='not has_20_week_exception') }}
    union all
    -- The DfE's timeliness bands; with EHCP_20WK_ALL they share its denominator and sum to 100%.
    {{ kpi_share('EHCP_ISSUED_20_52WK', 'issued_by_area', month_of='plan_issued_date',
        meeting="issue_band = 'over_20_to_52_weeks'") }}
    union all
    {{ kpi_share('EHCP_ISSUED_OVER_52WK', 'issued_by_area', month_of='plan_issued_date',
        meeting="issue_band = 'over_52_weeks'") }}
    union all
    {{ kpi_weeks('EHCP_MEAN_WEEKS_TO_ISSUE', 'issued_by_area', month_of='plan_issued_date',
        statistic='avg', days='days_to_issue') }}
    union all
    {{ kpi_count('EHCP_OPEN_PAST_20WK', 'open_assessments_by_area', month_of='period_start',
        meeting='is_past_20_weeks') }}
    union all
    {{ kpi_weeks('EHCP_LONGEST_OPEN_WAIT_WEEKS', 'open_assessments_by_area', month_of='period_start',
        statistic='max', days='days_waiting') }}
    union all
    -- Advice counts in the month its deadline falls, returned or not (lapsed advice aside).
    {{ kpi_share('EHCP_ADVICE_EP_6WK', 'advice_by_area', month_of='deadline_6_weeks',
        meeting='returned_by_deadline', where="advice_type = 'EP' and not has_lapsed") }}
    union all
    {{ kpi_share('EHCP_ADVICE_HEALTH_6WK', 'advice_by_area', month_of='deadline_6_weeks',
        meeting='returned_by_deadline', where="advice_type = 'HEALTH' and not has_lapsed") }}
    union all
    {{ kpi_share('EHCP_ADVICE_SOCIAL_CARE_6WK', 'advice_by_area', month_of='deadline_6_weeks',
        meeting='returned_by_deadline', where="advice_type = 'SOCIAL_CARE' and not has_lapsed") }}
    union all
    {{ kpi_count('EHCP_ADVICE_EP_OVERDUE', 'advice_overdue_by_area', month_of='period_start',
        where="advice_type = 'EP'") }}
    union all
    {{ kpi_count('EHCP_ADVICE_HEALTH_OVERDUE', 'advice_overdue_by_area', month_of='period_start',
        where="advice_type = 'HEALTH'") }}
    union all
    {{ kpi_count('EHCP_ADVICE_SOCIAL_CARE_OVERDUE', 'advice_overdue_by_area', month_of='period_start',
        where="advice_type = 'SOCIAL_CARE'") }}
    union all
    {{ kpi_count('EHCP_EP_ALLOCATIONS', 'ep_first_allocations_by_area', month_of='first_allocated_date') }}
    union all
    {{ kpi_count('EHCP_ACTIVE_PLANS', 'plans_month_end_by_area', month_of='period_start') }}
    union all
    {{ kpi_count('EHCP_AUDITS_COMPLETED', 'audits_by_area', month_of='audit_date') }}
    union all
    {{ kpi_share('EHCP_AUDIT_COVERAGE_12M', 'audit_coverage_by_area', month_of='period_start',
        meeting='audited_in_12_months') }}
    union all
    {{ kpi_share('EHCP_AUDITS_GOOD_OR_BETTER', 'audits_by_area', month_of='audit_date', meeting='is_good_or_better') }}
    union all
    -- Judged in the month the 4-week deadline falls, so the month's figure is final once it ends.
    {{ kpi_share('EHCP_INADEQUATE_CTL_4WK', 'audits_by_area', month_of='closing_loop_deadline',
        meeting='closing_loop_within_4_weeks', where='is_inadequate') }}
    union all
    -- Every review that fell due in the month, held or not (int_annual_reviews_due).
    {{ kpi_share('AR_WITHIN_12M', 'reviews_due_by_area', month_of='due_date', meeting='held_by_due_date') }}
    union all
    {{ kpi_count('AR_OVERDUE', 'reviews_overdue_by_area', month_of='period_start') }}
    union all
    -- Every meeting whose 4-week deadline fell in the month, decided or not.
    {{ kpi_share('AR_DECISION_4WK', 'reviews_by_area', month_of='decision_deadline',
        meeting='decided_by_deadline', where='meeting_date is not null') }}
    union all
    {{ kpi_count('AR_DECISIONS_OUTSTANDING_4WK', 'review_decisions_outstanding_by_area', month_of='period_start') }}
    union all
    {{ kpi_share('AR_PHASE_TRANSFER_ON_TIME', 'reviews_by_area', month_of='phase_transfer_due_date',
        meeting='phase_transfer_on_time', where='phase_transfer_due_date is not null') }}
    union all
    -- A Year 9+ plan with no review held yet counts as not covered.
    {{ kpi_share('PFA_REVIEW_COVERED', 'plans_month_end_by_area', month_of='period_start',
        meeting='latest_review_pfa_covered', where='school_year >= 9') }}
    union all
    {{ kpi_share('PFA_AUDIT_CLEAR', 'audits_by_area', month_of='audit_date',
        meeting='pfa_clear', where='school_year_at_audit >= 9') }}
    union all
    -- 16-17 year olds as NCCIS counts them: academic age (age on 31 August) 16 or 17, school years
    -- 12-13. One young person with two plans counts once; no activity confirmed yet is "not known".
    {{ kpi_share('PFA_NEET_16_17', 'plans_month_end_by_area', month_of='period_start',
        meeting="coalesce(latest_activity_status, 'NOT_KNOWN') in ('NEET', 'NOT_KNOWN')",
        where='school_year between 12 and 13 and person_key is not null',
        counting='distinct person_key') }}
),

-- Only months the feed covers: a stray date outside them (a placeholder or future date) is not a KPI.
covered as (
    select kpis.*
    from kpis
    inner join {{ ref('int_areas') }} as areas on kpis.area_code = areas.area_code
    inner join {{ ref('int_feed_periods__la_case_management') }} as periods
        on
            areas.la_code = periods.area_code
            and kpis.period_start = periods.period_start
)

select {{ kpi_value_columns() }}
from covered
