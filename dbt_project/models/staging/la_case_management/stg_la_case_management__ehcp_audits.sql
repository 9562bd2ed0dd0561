-- Current state of each EHC plan quality audit.
select
    area_code,
    ehqa_audit_id as audit_id,
    ehqa_active_ehcp_id as active_plan_id,
    ehqa_review_id as review_id,
    ehqa_audit_type as audit_type,
    ehqa_audit_date as audit_date,
    ehqa_grade as grade,
    ehqa_pfa_clear as pfa_clear,
    ehqa_closing_loop_date as closing_loop_date,
    last_modified_at
from ({{ la_case_management_newest('send_ehcp_audits', 'ehqa_audit_id') }})
