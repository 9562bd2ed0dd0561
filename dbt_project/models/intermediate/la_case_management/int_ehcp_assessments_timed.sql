-- The 20-week clock (SEND Regulations 2014, reg. 13): from the date the request was received to the
-- date the final plan was issued. Counted in days; "within 20 weeks" means issued on or before day
-- 140 (the deadline day itself is on time). Weeks are days / 7. An exception applies when the SEN2
-- flag is set or a permitted exception (reg. 13(3)) is recorded for the assessment. Only outcome Y
-- with a date is an issued plan: N (not issued), W (withdrawn), A (open) and H (historical, not a
-- new plan) are not timed. Bands as the DfE publishes them: within 20 weeks (up to day 140), over 20
-- weeks and up to 52 (days 141-364), over 52 weeks (day 365 on).
with requests as (
    select * from {{ ref('int_ehcp_requests_timed') }}
),

assessments as (
    select * from {{ ref('stg_la_case_management__ehcp_assessments') }}
),

recorded_exceptions as (
    select distinct
        area_code,
        assessment_id
    from {{ ref('stg_la_case_management__assessment_exceptions') }}
)

select
    assessments.area_code,
    assessments.assessment_id,
    assessments.request_id,
    requests.person_key,
    requests.received_date,
    requests.decision_date as decision_to_assess_date,
    assessments.assessment_outcome,
    assessments.outcome_date,
    assessments.has_20_week_exception or recorded_exceptions.assessment_id is not null as has_20_week_exception,
    case when assessments.assessment_outcome = 'Y' then assessments.outcome_date end as plan_issued_date,
    requests.received_date + interval 140 day as deadline_20_weeks,
    case
        when assessments.assessment_outcome = 'Y' and assessments.outcome_date is not null
            then datediff('day', requests.received_date, assessments.outcome_date)
    end as days_to_issue,
    days_to_issue / 7.0 as weeks_to_issue,
    days_to_issue <= 140 as issued_within_20_weeks,
    case
        when days_to_issue <= 140 then 'within_20_weeks'
        when days_to_issue <= 364 then 'over_20_to_52_weeks'
        when days_to_issue > 364 then 'over_52_weeks'
    end as issue_band
from assessments
inner join requests
    on
        assessments.area_code = requests.area_code
        and assessments.request_id = requests.request_id
left join recorded_exceptions
    on
        assessments.area_code = recorded_exceptions.area_code
        and assessments.assessment_id = recorded_exceptions.assessment_id
