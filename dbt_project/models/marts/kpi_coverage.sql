-- Per area and month: how many catalogue KPIs came from each provenance, and the share automated
-- (person-level or aggregate feed) - the "KPIs flowing into the dashboard" figure the partnership
-- reports, measured by the platform itself over the whole catalogue.
select
    area_code::varchar as area_code,
    period_start::date as period_start,
    period_end::date as period_end,
    count(*)::bigint as kpis_in_catalogue,
    (count(*) filter (where provenance = 'feed'))::bigint as kpis_from_feed,
    (count(*) filter (where provenance = 'aggregate_feed'))::bigint as kpis_from_aggregate_feed,
    (count(*) filter (where provenance = 'manual'))::bigint as kpis_manual,
    (count(*) filter (where provenance = 'missing'))::bigint as kpis_missing,
    round(100.0 * count(*) filter (where provenance in ('feed', 'aggregate_feed')) / count(*), 1)::double
        as pct_automated,
    max(refreshed_at) as refreshed_at,
    max(run_id)::varchar as run_id
from {{ ref('kpi_values') }}
group by area_code, period_start, period_end
