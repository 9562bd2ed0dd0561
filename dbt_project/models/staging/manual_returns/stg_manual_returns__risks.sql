-- The risk register, one row per risk per monthly workbook (risk_register_YYYY-MM.xlsx: each workbook
-- is the whole register as at that month; macros/manual_returns_monthly_tracker.sql).
{{ config(tags=['as_of_month']) }}
with workbook_rows as (
    {{ manual_returns_monthly_tracker('risk_register', 'risk_id') }}
)

select
    period_start,
    trim(risk_id) as risk_id,
    title,
    upper(trim(priority_area)) as priority_area,
    owner,
    likelihood,
    impact,
    current_score,
    target_score,
    target_date,
    upper(trim(status)) as status,
    last_reviewed,
    _source_file as source_file
from workbook_rows
