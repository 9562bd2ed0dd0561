-- The PAP milestone tracker, one row per milestone per monthly workbook (pap_milestones_YYYY-MM.xlsx:
-- each workbook is the whole tracker as at that month; macros/manual_returns_monthly_tracker.sql).
{{ config(tags=['as_of_month']) }}
with workbook_rows as (
    {{ manual_returns_monthly_tracker('pap_milestones', 'milestone_id') }}
)

select
    period_start,
    trim(milestone_id) as milestone_id,
    upper(trim(priority_area)) as priority_area,
    action,
    milestone,
    owner,
    due_date,
    upper(trim(rag_status)) as rag_status,
    completed_date,
    last_updated,
    commentary,
    _source_file as source_file
from workbook_rows
