-- One row per named EHC plan with the span it is in force and its young person: active on a date
-- when it started on or before it and has not ceased on or before it (contract convention).
with named_plans as (
    select * from {{ ref('stg_la_case_management__named_plans') }}
),

active_plans as (
    select * from {{ ref('stg_la_case_management__active_plans') }}
),

requests as (
    select * from {{ ref('int_ehcp_requests_timed') }}
),

persons as (
    select * from {{ ref('stg_la_case_management__persons') }}
)

select
    named_plans.area_code,
    named_plans.named_plan_id,
    active_plans.active_plan_id,
    named_plans.assessment_id,
    active_plans.request_id,
    requests.person_key,
    persons.birth_month,
    named_plans.start_date,
    named_plans.ceased_date,
    named_plans.ceased_reason,
    active_plans.transfer_la_code,
    active_plans.last_review_date
from named_plans
left join active_plans
    on
        named_plans.area_code = active_plans.area_code
        and named_plans.named_plan_id = active_plans.named_plan_id
left join requests
    on
        active_plans.area_code = requests.area_code
        and active_plans.request_id = requests.request_id
left join persons
    on
        requests.area_code = persons.area_code
        and requests.person_key = persons.person_key
qualify
    row_number() over (
        partition by named_plans.area_code, named_plans.named_plan_id order by active_plans.active_plan_id
    ) = 1
