-- Current state of each annual review of an EHC plan.
select
    area_code,
    anre_review_id as review_id,
    anre_active_ehcp_id as active_plan_id,
    anre_review_due_date as due_date,
    anre_meeting_date as meeting_date,
    anre_decision_date as decision_date,
    anre_outcome as review_outcome,
    anre_pfa_covered as pfa_covered,
    anre_phase_transfer_due_date as phase_transfer_due_date,
    anre_phase_transfer_final_date as phase_transfer_final_date,
    last_modified_at
from ({{ la_case_management_newest('send_annual_reviews', 'anre_review_id') }})
