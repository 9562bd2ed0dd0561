-- One row per request for advice (EP, health, social care) with its 6-week clock and EP allocation.
select
    advice.area_code::varchar as area_code,
    advice.advice_id::varchar as advice_id,
    advice.assessment_id::varchar as assessment_id,
    assessments.request_id::varchar as request_id,
    assessments.person_key::varchar as person_key,
    advice.advice_type::varchar as advice_type,
    advice.requested_date::date as requested_date,
    advice.received_date::date as received_date,
    advice.deadline_6_weeks::date as deadline_6_weeks,
    advice.days_to_return::integer as days_to_return,
    advice.returned_within_6_weeks::boolean as returned_within_6_weeks,
    advice.has_lapsed::boolean as has_lapsed,
    advice.ep_first_allocated_date::date as ep_first_allocated_date,
    advice.ep_allocations::integer as ep_allocations
from {{ ref('int_ehcp_advice_timed') }} as advice
left join {{ ref('int_ehcp_assessments_timed') }} as assessments
    on
        advice.area_code = assessments.area_code
        and advice.assessment_id = assessments.assessment_id
