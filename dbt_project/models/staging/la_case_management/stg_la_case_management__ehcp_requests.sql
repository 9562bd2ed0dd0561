-- Current state of each EHC needs-assessment request.
select
    area_code,
    ehcr_ehcp_request_id as request_id,
    ehcr_send_table_id as send_record_id,
    ehcr_ehcp_req_date as received_date,
    ehcr_ehcp_req_outcome_date as decision_date,
    ehcr_ehcp_req_outcome as decision_outcome,
    last_modified_at
from ({{ la_case_management_newest('ssd_ehcp_requests', 'ehcr_ehcp_request_id') }})
