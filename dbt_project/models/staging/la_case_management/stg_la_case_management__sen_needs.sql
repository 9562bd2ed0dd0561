-- Current state of each plan's primary / secondary SEN type (SEN2 SENneed).
select
    area_code,
    senn_table_id as sen_need_id,
    senn_active_ehcp_id as active_plan_id,
    senn_active_ehcp_need_type as need_type,
    senn_active_ehcp_need_rank::integer as need_rank,
    last_modified_at
from ({{ la_case_management_newest('ssd_sen_need', 'senn_table_id') }})
