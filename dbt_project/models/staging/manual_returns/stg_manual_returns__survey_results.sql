-- Survey results, one row per wave, area, respondent group and question. A wave is dated to the month
-- its fieldwork closes: SPRING in April, AUTUMN in October (the synthetic surveys close on the 28th).
{{ config(tags=['as_of_month']) }}
with waves as (
    select
        *,
        make_date(
            try_cast(left(trim(wave), 4) as integer),
            case upper(split_part(trim(wave), '-', 2)) when 'SPRING' then 4 when 'AUTUMN' then 10 end,
            1
        ) as period_start
    from {{ source('manual_returns', 'survey_results') }}
)

select
    upper(trim(wave)) as wave,
    try_cast(left(trim(wave), 4) as integer) as wave_year,
    upper(split_part(trim(wave), '-', 2)) as wave_season,
    period_start,
    upper(trim(area_code)) as area_code,
    upper(trim(respondent_group)) as respondent_group,
    upper(trim(question_code)) as question_code,
    question_text,
    responses,
    positive_responses,
    percent_positive,
    _source_file as source_file
from waves
-- Waves closing in a month that ends after the run's as-of date are left out (backfills).
where period_start is null or period_start + interval 1 month <= date '{{ as_of_date() }}' + interval 1 day
qualify row_number() over (
    partition by upper(trim(wave)), upper(trim(area_code)), upper(trim(respondent_group)), upper(trim(question_code))
    order by _file_version desc, _source_row desc
) = 1
