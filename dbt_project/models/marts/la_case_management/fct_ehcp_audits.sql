-- One row per EHC plan quality audit with its grade measures and closing-the-loop clock.
select
    area_code::varchar as area_code,
    audit_id::varchar as audit_id,
    active_plan_id::varchar as active_plan_id,
    named_plan_id::varchar as named_plan_id,
    person_key::varchar as person_key,
    review_id::varchar as review_id,
    audit_type::varchar as audit_type,
    audit_date::date as audit_date,
    grade::varchar as grade,
    is_good_or_better::boolean as is_good_or_better,
    closing_loop_deadline::date as closing_loop_deadline,
    closing_loop_date::date as closing_loop_date,
    days_to_closing_loop::integer as days_to_closing_loop,
    closing_loop_within_4_weeks::boolean as closing_loop_within_4_weeks,
    pfa_clear::boolean as pfa_clear,
    school_year_at_audit::integer as school_year_at_audit
from {{ ref('int_ehcp_audits_assessed') }}
