-- One row per catalogue KPI (the platform's own KPIs aside) x area x complete calendar month from
-- var('first_period') to as_of_date(): the first candidate by precedence, or an explicit 'missing'.
-- Every KPI for each LA served; for each of its localities the KPIs a source computes per locality.
{{ config(tags=['as_of_month']) }}
{%- set locality_feeds = feed_period_models() | selectattr('by_locality') | map(attribute='model') | list %}
with catalogue as (
    select * from {{ ref('kpi_definitions') }}
    where computing_feed != 'platform'
),

months as (
    select unnest(range(date '{{ var("first_period") }}', date '{{ as_of_date() }}', interval 1 month)) as month_start
),

periods as (
    select
        month_start::date as period_start,
        (month_start + interval 1 month - interval 1 day)::date as period_end
    from months
    where month_start + interval 1 month <= date '{{ as_of_date() }}'
),

areas as (
    select * from {{ ref('int_areas') }}
),

area_kpis as (
    select
        catalogue.kpi_code,
        areas.area_code
    from catalogue
    inner join areas
        on
            areas.area_type = 'la'
            or catalogue.computing_feed in ('{{ locality_feeds | join("', '") }}')
),

chosen as (
    select * from {{ ref('int_kpi_candidates') }}
    qualify row_number() over (partition by kpi_code, area_code, period_start order by rank) = 1
)

select
    area_kpis.kpi_code,
    area_kpis.area_code,
    periods.period_start,
    periods.period_end,
    chosen.numerator,
    chosen.denominator,
    chosen.value,
    coalesce(chosen.provenance, 'missing') as provenance,
    chosen.feed_source as source
from area_kpis
cross join periods
left join chosen
    on
        area_kpis.kpi_code = chosen.kpi_code
        and area_kpis.area_code = chosen.area_code
        and periods.period_start = chosen.period_start
