-- Per LA and month: how many catalogue KPIs came from each provenance, and the share automated
-- (person-level or aggregate feed), the "KPIs flowing into the dashboard" figure. Counted once, here,
-- and read twice: by the kpi_coverage mart and by the GOV_KPIS_AUTOMATED KPI, so the two always agree.
-- Over the KPIs a source provides: the platform's own Priority I KPIs (computed from this and from
-- the data-quality checks) and the per-locality rows aside.
with chosen as (
    select * from {{ ref('int_kpi_values_chosen') }}
),

las as (
    select area_code from {{ ref('int_areas') }}
    where area_type = 'la'
)

select
    chosen.area_code,
    chosen.period_start,
    chosen.period_end,
    count(*) as kpis_in_catalogue,
    count(*) filter (where chosen.provenance = 'feed') as kpis_from_feed,
    count(*) filter (where chosen.provenance = 'aggregate_feed') as kpis_from_aggregate_feed,
    count(*) filter (where chosen.provenance = 'manual') as kpis_manual,
    count(*) filter (where chosen.provenance = 'missing') as kpis_missing,
    kpis_from_feed + kpis_from_aggregate_feed as kpis_automated
from chosen
inner join las on chosen.area_code = las.area_code
group by chosen.area_code, chosen.period_start, chosen.period_end
