-- Months the LA case-management feed covers per area: from the month of its first request received
-- (historical H rows migrated from earlier systems do not count, and never before var first_period)
-- to the last whole month ending on or before var as_of, the rule kpi_values uses.
with firsts as (
    select
        area_code,
        greatest(
            date_trunc('month', min(received_date)), date '{{ var("first_period") }}'
        )::date as first_period_start
    from {{ ref('stg_la_case_management__ehcp_requests') }}
    where decision_outcome != 'H'
    group by area_code
)

select
    firsts.area_code,
    months.period_start::date as period_start
from firsts
cross join
    unnest(
        range(firsts.first_period_start, date '{{ as_of_date() }}', interval 1 month)
    ) as months (period_start)
where months.period_start + interval 1 month <= date '{{ as_of_date() }}'
