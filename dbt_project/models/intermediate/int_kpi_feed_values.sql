-- Every KPI computed from a feed, long format: one row per KPI, area and month that had cases.
-- A new KPI adds an int_kpi__<topic> model with these five columns and a line here.
select
    kpi_code,
    area_code,
    period_start,
    numerator,
    denominator
from {{ ref('int_kpi__ehcp_20_week') }}
