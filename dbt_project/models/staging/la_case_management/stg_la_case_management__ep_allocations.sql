-- Current state of each educational psychologist allocation.
select
    area_code,
    epal_allocation_id as allocation_id,
    epal_advice_id as advice_id,
    epal_allocated_date as allocated_date,
    epal_team as ep_team,
    epal_employment_type as employment_type,
    last_modified_at
from ({{ la_case_management_newest('send_ep_allocations', 'epal_allocation_id') }})
