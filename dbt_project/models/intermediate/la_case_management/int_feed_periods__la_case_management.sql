-- Months the LA case-management feed covers per area: from its first request to the run's as-of date.
with firsts as (
    select
        area_code,
        date_trunc('month', min(received_date))::date as first_period_start
    from {{ ref('stg_la_case_management__ehcp_requests') }}
    group by area_code
)

select
    firsts.area_code,
    months.period_start::date as period_start
from firsts
cross join
    unnest(
        range(firsts.first_period_start, date '{{ var("as_of") }}', interval 1 month)
    ) as months (period_start)
