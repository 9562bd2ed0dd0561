-- Months the aggregate waiting list can stand in for the person-level feed per LA and pathway (the
-- KPIs of that pathway with aggregate_feed icb_nd_waiting_list): only when every provider serving the
-- LA's pathway sent a waiting list for the month. A list from some providers only would undercount the
-- LA's waiting children, so it does not stand in (the month falls back further).
with covered as (
    select
        area_code,
        pathway,
        period_start
    from {{ ref('int_nd_provider_months') }}
    group by area_code, pathway, period_start
    having bool_and(has_aggregate)
)

select
    catalogue.kpi_code,
    covered.area_code,
    covered.period_start
from covered
inner join {{ ref('kpi_definitions') }} as catalogue
    on
        catalogue.aggregate_feed = 'icb_nd_waiting_list'
        and starts_with(catalogue.kpi_code, 'ND_' || covered.pathway || '_')
