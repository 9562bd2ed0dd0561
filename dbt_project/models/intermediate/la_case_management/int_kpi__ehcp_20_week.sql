-- EHCP_20WK_ALL / EHCP_20WK_EXCL, DfE method: plans issued in the month, timed from the received
-- date; "excluding exceptions" removes exception cases from numerator and denominator alike.
with issued as (
    select
        area_code,
        date_trunc('month', plan_issued_date)::date as period_start,
        issued_within_20_weeks,
        has_20_week_exception
    from {{ ref('int_ehcp_assessments_timed') }}
    where plan_issued_date is not null
)

select
    'EHCP_20WK_ALL' as kpi_code,
    area_code,
    period_start,
    count(*) filter (where issued_within_20_weeks) as numerator,
    count(*) as denominator,
    null::double as value
from issued
group by area_code, period_start

union all

select
    'EHCP_20WK_EXCL' as kpi_code,
    area_code,
    period_start,
    count(*) filter (where issued_within_20_weeks and not has_20_week_exception) as numerator,
    count(*) filter (where not has_20_week_exception) as denominator,
    null::double as value
from issued
group by area_code, period_start
