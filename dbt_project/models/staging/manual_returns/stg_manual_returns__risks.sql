-- The risk register, one row per risk per monthly workbook; the month comes from the file name
-- (risk_register_YYYY-MM.xlsx): each workbook is the whole register as at that month.
with landed as (
    select
        *,
        try_strptime(
            regexp_extract(_source_file, '^risk_register_([0-9]{4}-[0-9]{2})', 1) || '-01', '%Y-%m-%d'
        )::date as period_start
    from {{ source('manual_returns', 'risk_register') }}
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
from landed
-- Months ending after the run's as-of date are left out, so a backfill sees what was known then.
where period_start + interval 1 month <= date '{{ as_of_date() }}' + interval 1 day
qualify row_number() over (
    partition by period_start, trim(risk_id) order by _file_version desc, _source_row desc
) = 1
