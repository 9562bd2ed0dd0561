-- The months each source covers per area (and, for sources that cover per KPI, per KPI: an ND pathway
-- can be covered while the other is not): inside them a KPI with no cases is a true zero, outside them
-- it falls back (aggregate feed, manual scorecard) or is missing. Each feed declares its
-- int_feed_periods__<model> models (ingestion/<feed>/feed.py, the generated macro feed_period_models);
-- a model whose name is not a catalogue feed names its own feed_source (the manual trackers).
{% set named = kpi_value_models() | selectattr('feed_source', 'none') | map(attribute='model') | list %}
{% for source in feed_period_models() %}
    select
        {% if source.model in named %}feed_source,{% else %}'{{ source.model }}' as feed_source,{% endif %}
        {% if source.by_kpi %}kpi_code,{% else %}null::varchar as kpi_code,{% endif %}
        area_code,
        period_start
    from {{ ref('int_feed_periods__' ~ source.model) }}
    {% if not loop.last %}union all{% endif %}
{% endfor %}
