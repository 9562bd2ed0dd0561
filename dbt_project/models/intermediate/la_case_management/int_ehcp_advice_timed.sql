-- The 6-week advice clock (SEND Regulations 2014): advice requested for an assessment is
-- due within 6 weeks of the request for it. Timed only once returned (measured in the month it came
-- back); "within 6 weeks" means on or before day 42. Outstanding advice stays untimed.
with advice as (
    select * from {{ ref('stg_la_case_management__ehcp_advice') }}
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
    advice.advice_type,
    advice.requested_date,
    advice.received_date,
    advice.requested_date + interval 42 day as deadline_6_weeks,
    datediff('day', advice.requested_date, advice.received_date) as days_to_return,
    days_to_return <= 42 as returned_within_6_weeks,
    first_allocations.first_allocated_date as ep_first_allocated_date,
    coalesce(first_allocations.allocations, 0) as ep_allocations
from advice
left join first_allocations
    on
        advice.area_code = first_allocations.area_code
        and advice.advice_id = first_allocations.advice_id
