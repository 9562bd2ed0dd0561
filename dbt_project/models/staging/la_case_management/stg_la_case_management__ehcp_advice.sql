-- Current state of each request for advice (EP, health, social care) for an assessment.
select
    area_code,
    ehad_advice_id as advice_id,
    ehad_ehcp_assessment_id as assessment_id,
    ehad_advice_type as advice_type,
    ehad_requested_date as requested_date,
    ehad_received_date as received_date,
    last_modified_at
from ({{ la_case_management_newest('send_ehcp_advice', 'ehad_advice_id') }})
