-- The platform's own Priority I KPIs, per LA and month. GOV_KPIS_AUTOMATED: the automated share of
-- int_kpi_coverage, the figure the kpi_coverage mart publishes. GOV_DQ_CHECKS_PASSING: the share of
-- data-quality checks that passed in the last run made in the month (by its as-of date: a run reports
-- the months before it, so the checks of a run in December fall in December), whatever the run's
-- outcome. Checks run after dbt: a month's figure appears once its last run has been checked.
{{ config(tags=['every_run']) }}
with coverage as (
    select * from {{ ref('int_kpi_coverage') }}
),

quality_results as (
    select
        run_id,
        outcome,
        checked_at
    from
        {{ ops_table(
            'data_quality_results',
            "null::varchar as run_id, null::varchar as outcome, null::timestamptz as checked_at"
        ) }}
),

runs as (
    select
        run_id,
        logical_date
    from {{ ops_table('pipeline_runs', "null::varchar as run_id, null::date as logical_date") }}
),

checked_runs as (
    select
        quality_results.run_id,
        runs.logical_date,
        max(quality_results.checked_at) as checked_at
    from quality_results
    inner join runs on quality_results.run_id = runs.run_id
    group by quality_results.run_id, runs.logical_date
),

last_run_per_month as (
    select
        date_trunc('month', logical_date)::date as period_start,
        run_id
    from checked_runs
    qualify row_number() over (
        partition by date_trunc('month', logical_date) order by logical_date desc, checked_at desc
    ) = 1
),

quality as (
    select
        last_run_per_month.period_start,
        count(*) filter (where quality_results.outcome = 'passed') as numerator,
        count(*) as denominator
    from last_run_per_month
    inner join quality_results on last_run_per_month.run_id = quality_results.run_id
    group by last_run_per_month.period_start
)

select
    'GOV_KPIS_AUTOMATED' as kpi_code,
    area_code,
    period_start,
    period_end,
    kpis_automated as numerator,
    kpis_in_catalogue as denominator,
    'feed' as provenance,
    'platform' as source
from coverage
union all
select
    'GOV_DQ_CHECKS_PASSING' as kpi_code,
    coverage.area_code,
    coverage.period_start,
    coverage.period_end,
    quality.numerator,
    quality.denominator,
    case when quality.period_start is null then 'missing' else 'feed' end as provenance,
    case when quality.period_start is not null then 'platform' end as source
from coverage
left join quality on coverage.period_start = quality.period_start
