-- One row per EHC needs-assessment request, followed through the decision to assess (6-week clock),
-- the assessment and the plan issued (20-week clock). Clock rules: int_ehcp_requests_timed and
-- int_ehcp_assessments_timed.
with requests as (
    select * from {{ ref('int_ehcp_requests_timed') }}
),

assessments as (
    select * from {{ ref('int_ehcp_assessments_timed') }}
    qualify row_number() over (partition by area_code, request_id order by assessment_id) = 1
),

plans as (
    select * from {{ ref('int_ehcp_plan_spans') }}
)

select
    requests.area_code::varchar as area_code,
    requests.request_id::varchar as request_id,
    requests.person_key::varchar as person_key,
    requests.received_date::date as received_date,
    requests.decision_outcome::varchar as decision_outcome,
    requests.is_new_request::boolean as is_new_request,
    requests.decision_date::date as decision_date,
    requests.days_to_decision::integer as days_to_decision,
    requests.decided_within_6_weeks::boolean as decided_within_6_weeks,
    assessments.assessment_id::varchar as assessment_id,
    assessments.assessment_outcome::varchar as assessment_outcome,
    assessments.outcome_date::date as assessment_outcome_date,
    assessments.has_20_week_exception::boolean as has_20_week_exception,
    assessments.plan_issued_date::date as plan_issued_date,
    assessments.days_to_issue::integer as days_to_issue,
    assessments.weeks_to_issue::double as weeks_to_issue,
    assessments.issued_within_20_weeks::boolean as issued_within_20_weeks,
    plans.named_plan_id::varchar as named_plan_id
from requests
left join assessments
    on
        requests.area_code = assessments.area_code
        and requests.request_id = assessments.request_id
left join plans
    on
        assessments.area_code = plans.area_code
        and assessments.assessment_id = plans.assessment_id
qualify row_number() over (partition by requests.area_code, requests.request_id order by plans.named_plan_id) = 1
