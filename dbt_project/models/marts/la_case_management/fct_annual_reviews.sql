-- One row per annual review held with its clocks (12 months, decision within 4 weeks, phase transfer).
-- Reviews due and not held are in int_annual_reviews_due (AR_WITHIN_12M, AR_OVERDUE).
select
    area_code::varchar as area_code,
    review_id::varchar as review_id,
    active_plan_id::varchar as active_plan_id,
    named_plan_id::varchar as named_plan_id,
    person_key::varchar as person_key,
    meeting_date::date as meeting_date,
    previous_meeting_date::date as previous_meeting_date,
    recorded_due_date::date as recorded_due_date,
    statutory_due_date::date as statutory_due_date,
    held_within_12_months::boolean as held_within_12_months,
    decision_deadline::date as decision_deadline,
    decision_date::date as decision_date,
    days_to_decision::integer as days_to_decision,
    decided_within_4_weeks::boolean as decided_within_4_weeks,
    review_outcome::varchar as review_outcome,
    pfa_covered::boolean as pfa_covered,
    phase_transfer_due_date::date as phase_transfer_due_date,
    phase_transfer_final_date::date as phase_transfer_final_date,
    phase_transfer_on_time::boolean as phase_transfer_on_time
from {{ ref('int_annual_reviews_timed') }}
