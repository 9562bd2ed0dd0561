-- Manual KPI scorecard rows from the current version of each scorecard file: a resubmission (_v2 ...)
-- replaces the earlier file of that area and month. A row pasted twice collapses to its last copy.
-- The period 'YYYY-MM' becomes the first day of the month (null when it does not parse).
with landed as (
    select
        *,
        regexp_extract(_source_file, '^kpi_scorecard_(E[0-9]{8})_([0-9]{4}-[0-9]{2})', 1) as file_area_code,
        regexp_extract(_source_file, '^kpi_scorecard_(E[0-9]{8})_([0-9]{4}-[0-9]{2})', 2) as file_period
    from {{ source('manual_returns', 'kpi_scorecard') }}
),

current_files as (
    select * from landed
    qualify _file_version = max(_file_version) over (partition by file_area_code, file_period)
)

select
    upper(trim(kpi_code)) as kpi_code,
    upper(trim(area_code)) as area_code,
    trim(period) as period,
    try_strptime(trim(period) || '-01', '%Y-%m-%d')::date as period_start,
    numerator,
    denominator,
    value,
    nullif(trim(submitted_by), '') as submitted_by,
    submitted_on,
    evidence_note,
    _source_file as source_file,
    _source_row as source_row,
    _file_version as file_version
from current_files
qualify row_number() over (
    partition by upper(trim(kpi_code)), upper(trim(area_code)), trim(period)
    order by _file_version desc, submitted_on desc, _source_row desc
) = 1
