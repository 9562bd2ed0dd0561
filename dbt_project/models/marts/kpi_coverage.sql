-- Per LA and month: how many catalogue KPIs came from each provenance and the share automated (person-
-- level or aggregate feed), the "KPIs flowing into the dashboard" figure the partnership reports.
-- The same computation as the GOV_KPIS_AUTOMATED KPI (int_kpi_coverage), so the two never disagree.
{{ config(tags=['every_run']) }}
select
    area_code::varchar as area_code,
    period_start::date as period_start,
    period_end::date as period_end,
    kpis_in_catalogue::bigint as kpis_in_catalogue,
    kpis_from_feed::bigint as kpis_from_feed,
    kpis_from_aggregate_feed::bigint as kpis_from_aggregate_feed,
    kpis_manual::bigint as kpis_manual,
    kpis_missing::bigint as kpis_missing,
    (100.0 * kpis_automated / kpis_in_catalogue)::double as pct_automated,
    '{{ run_started_at.isoformat() }}'::timestamptz as refreshed_at,
    '{{ pipeline_run_id() }}'::varchar as run_id
from {{ ref('int_kpi_coverage') }}
