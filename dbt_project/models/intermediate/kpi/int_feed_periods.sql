-- The months each source covers per area (and, for sources that cover per KPI, per KPI: an ND pathway
-- can be covered while the other is not): inside them a KPI with no cases is a true zero, outside them
-- it falls back (aggregate feed, manual scorecard) or is missing. Each feed declares its
-- int_feed_periods__<model> models (ingestion/<feed>/feed.py, the generated macro feed_period_models);
-- a model whose name is not a catalogue feed names its own feed_source (the manual trackers). A
-- source computing its KPIs per locality as well covers each locality in the months it covers its LA.
{% set named = kpi_value_models() | selectattr('feed_source', 'none') | map(attribute='model') | list %}
with feed_periods as (
    {% for source in feed_period_models() %}
        select
            {% if source.model in named %}feed_source,{% else %}'{{ source.model }}' as feed_source,{% endif %}
            {% if source.by_kpi %}kpi_code,{% else %}null::varchar as kpi_code,{% endif %}
            area_code,
            period_start,
            {{ 'true' if source.by_locality else 'false' }} as by_locality
        from {{ ref('int_feed_periods__' ~ source.model) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    feed_source,
    kpi_code,
    area_code,
    period_start
from feed_periods
union all
select
    feed_periods.feed_source,
    feed_periods.kpi_code,
    areas.area_code,
    feed_periods.period_start
from feed_periods
inner join {{ ref('int_areas') }} as areas
    on
        feed_periods.area_code = areas.la_code
        and areas.area_type = 'locality'
where feed_periods.by_locality
