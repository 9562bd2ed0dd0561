-- One row per day, for joining any date in the marts (a request received, a plan issued, a review
-- due) to the calendars the partnership reports by: calendar, financial year (April to March),
-- academic year (September to August) and the month labels the board uses ("Dec 2025"). From 2000
-- (birth months and migrated history reach back that far) to the end of the financial year after
-- the run's as-of date (targets and deadlines run ahead of the data).
{{ config(tags=['as_of_month']) }}
with days as (
    select unnest(range(date '2000-01-01', {{ dim_date_end() }}, interval 1 day))::date as date_day
)

select
    date_day::date as date_day,
    isodow(date_day)::integer as day_of_week,
    strftime(date_day, '%A')::varchar as day_name,
    (isodow(date_day) >= 6)::boolean as is_weekend,
    date_trunc('month', date_day)::date as month_start,
    (date_trunc('month', date_day) + interval 1 month - interval 1 day)::date as month_end,
    {{ calendar_columns('date_day') }}
from days
