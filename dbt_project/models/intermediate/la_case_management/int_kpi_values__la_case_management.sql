-- Every KPI the LA case-management feed computes, long format (see kpi/int_kpi_feed_values.sql).
select * from {{ ref('int_kpi__ehcp_20_week') }}
