-- Current state of each named EHC plan (SEN2 module 4): start (issue) and cease dates.
select
    area_code,
    ehcn_named_plan_id as named_plan_id,
    ehcn_ehcp_asmt_id as assessment_id,
    ehcn_named_plan_start_date as start_date,
    ehcn_named_plan_ceased_date as ceased_date,
    ehcn_named_plan_ceased_reason as ceased_reason,
    last_modified_at
from ({{ la_case_management_newest('ssd_ehcp_named_plan', 'ehcn_named_plan_id') }})
