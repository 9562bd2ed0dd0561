-- Current state of each plan the LA maintains or has maintained (SEN2 module 5).
select
    area_code,
    ehcp_active_ehcp_id as active_plan_id,
    ehcp_ehcp_request_id as request_id,
    ehcp_named_plan_id as named_plan_id,
    ehcp_active_ehcp_last_review_date as last_review_date,
    ehcp_transfer_la as transfer_la_code,
    last_modified_at
from ({{ la_case_management_newest('ssd_ehcp_active_plans', 'ehcp_active_ehcp_id') }})
