-- Months the aggregate waiting list can stand in for the person-level feed per LA: only when every
-- provider serving the LA sent a waiting list for the month. A list from some providers only would
-- undercount the LA's waiting children, so it does not stand in (the month falls back further).
select
    area_code,
    period_start
from {{ ref('int_nd_provider_months') }}
group by area_code, period_start
having bool_and(has_aggregate)
