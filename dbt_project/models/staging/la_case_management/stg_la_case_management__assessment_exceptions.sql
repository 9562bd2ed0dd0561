-- Current state of each recorded permitted exception to the 20-week limit (reg. 13(3)).
select
    area_code,
    asex_exception_id as exception_id,
    asex_ehcp_assessment_id as assessment_id,
    asex_reason as exception_reason,
    asex_recorded_date as recorded_date,
    last_modified_at
from ({{ la_case_management_newest('send_assessment_exceptions', 'asex_exception_id') }})
