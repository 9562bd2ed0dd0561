-- One row per calendar month: the month grain of dim_date, keyed by `period_start` as kpi_values is,
-- so a report slices KPIs by financial or academic year, or by the board's month labels, with one
-- join. `is_reported` marks the complete months kpi_values holds; `months_before_latest` counts back
-- from the newest of them (0), for "last 12 months" filters that move with each run.
{{ config(tags=['as_of_month']) }}
with months as (
    select unnest(range(date '2000-01-01', {{ dim_date_end() }}, interval 1 month))::date as period_start
),

latest as (
    select (date_trunc('month', date '{{ as_of_date() }}') - interval 1 month)::date as period_start
)

select
    months.period_start::date as period_start,
    (months.period_start + interval 1 month - interval 1 day)::date as period_end,
    {{ calendar_columns('months.period_start') }},
    (
        months.period_start >= date '{{ var("first_period") }}' and months.period_start <= latest.period_start
    )::boolean as is_reported,
    datediff('month', months.period_start, latest.period_start)::integer as months_before_latest
from months
cross join latest
