-- Every KPI computed from a feed, long format: one row per KPI, area and month that had cases.
-- A new KPI adds an int_kpi__<topic> model with these six columns and a line here. `value` is left
-- null where kpi_values derives it from the unit (percent: 100 * n / d; count: n); KPIs such as a
-- median wait in weeks set it themselves.
select
    kpi_code,
    area_code,
    period_start,
    numerator,
    denominator,
    value
from {{ ref('int_kpi__ehcp_20_week') }}
