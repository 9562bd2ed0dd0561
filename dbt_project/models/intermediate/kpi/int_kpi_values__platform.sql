-- The platform's own Priority I KPIs. GOV_KPIS_AUTOMATED: of the other catalogue KPIs, how many came
-- from a person-level or aggregate feed this month (the partnership's "KPIs flowing" figure).
-- GOV_DQ_CHECKS_PASSING: the share of data-quality checks that passed in the month's last run that
-- recorded results (checks run after dbt, so the current run counts from the next run on).
with chosen as (
    select * from {{ ref('int_kpi_values_chosen') }}
),

automated as (
    select
        'GOV_KPIS_AUTOMATED' as kpi_code,
        area_code,
        period_start,
        period_end,
        count(*) filter (where provenance in ('feed', 'aggregate_feed')) as numerator,
        count(*) as denominator
    from chosen
    group by area_code, period_start, period_end
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

last_run_per_month as (
    select
        date_trunc('month', checked_at)::date as period_start,
        run_id
    from quality_results
    qualify row_number() over (partition by date_trunc('month', checked_at) order by checked_at desc) = 1
),

quality as (
    select
        last_run_per_month.period_start,
        count(*) filter (where quality_results.outcome = 'passed') as numerator,
        count(*) as denominator
    from last_run_per_month
    inner join quality_results on last_run_per_month.run_id = quality_results.run_id
    group by last_run_per_month.period_start
),

area_periods as (
    select distinct
        area_code,
        period_start,
        period_end
    from chosen
)

select
    kpi_code,
    area_code,
    period_start,
    period_end,
    numerator,
    denominator,
    'feed' as provenance,
    'platform' as source
from automated
union all
select
    'GOV_DQ_CHECKS_PASSING' as kpi_code,
    area_periods.area_code,
    area_periods.period_start,
    area_periods.period_end,
    quality.numerator,
    quality.denominator,
    case when quality.period_start is null then 'missing' else 'feed' end as provenance,
    case when quality.period_start is not null then 'platform' end as source
from area_periods
left join quality on area_periods.period_start = quality.period_start
