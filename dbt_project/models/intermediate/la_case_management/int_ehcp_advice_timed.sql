-- The 6-week advice clock (SEND Regulations 2014, reg. 8(1)): advice requested for an assessment
-- must be given within 6 weeks of the request for it; "within 6 weeks" means on or before day 42,
-- the deadline. Advice is judged when its deadline passes, returned or not: never returned counts as
-- late, unless it lapsed (never returned and its assessment ended without it: withdrawn, which the
-- source does not date, or decided on or before the advice deadline).
with advice as (
    select * from {{ ref('stg_la_case_management__ehcp_advice') }}
),

assessments as (
    select * from {{ ref('stg_la_case_management__ehcp_assessments') }}
),

-- Only the child: the KPIs per locality place the advice by the child's postcode district.
request_children as (
    select
        area_code,
        request_id,
        person_key
    from {{ ref('int_ehcp_requests_timed') }}
),

first_allocations as (
    select
        area_code,
        advice_id,
        min(allocated_date) as first_allocated_date,
        count(*) as allocations
    from {{ ref('stg_la_case_management__ep_allocations') }}
    group by area_code, advice_id
)

select
    advice.area_code,
    advice.advice_id,
    advice.assessment_id,
    request_children.person_key,
    advice.advice_type,
    advice.requested_date,
    advice.received_date,
    (advice.requested_date + interval 42 day)::date as deadline_6_weeks,
    datediff('day', advice.requested_date, advice.received_date) as days_to_return,
    days_to_return <= 42 as returned_within_6_weeks,
    coalesce(
        advice.received_date is null
        and (
            assessments.assessment_outcome = 'W'
            or (assessments.assessment_outcome in ('Y', 'N') and assessments.outcome_date <= deadline_6_weeks)
        ),
        false
    ) as has_lapsed,
    first_allocations.first_allocated_date as ep_first_allocated_date,
    coalesce(first_allocations.allocations, 0) as ep_allocations
from advice
left join assessments
    on
        advice.area_code = assessments.area_code
        and advice.assessment_id = assessments.assessment_id
left join request_children
    on
        assessments.area_code = request_children.area_code
        and assessments.request_id = request_children.request_id
left join first_allocations
    on
        advice.area_code = first_allocations.area_code
        and advice.advice_id = first_allocations.advice_id
