-- The PAP milestone tracker, one row per milestone per monthly workbook. The month is taken from the
-- file name (pap_milestones_YYYY-MM.xlsx): each workbook is the whole tracker as at that month.
with landed as (
    select
        *,
        try_strptime(
            regexp_extract(_source_file, '^pap_milestones_([0-9]{4}-[0-9]{2})', 1) || '-01', '%Y-%m-%d'
        )::date as period_start
    from {{ source('manual_returns', 'pap_milestones') }}
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
from landed
-- Months ending after the run's as-of date are left out, so a backfill sees what was known then.
where period_start + interval 1 month <= date '{{ as_of_date() }}' + interval 1 day
qualify row_number() over (
    partition by period_start, trim(milestone_id) order by _file_version desc, _source_row desc
) = 1
