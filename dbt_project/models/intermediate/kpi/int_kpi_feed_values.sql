-- Every KPI value any source computed, long format: one row per source, KPI, area and month that had
-- cases. Each feed declares the int_kpi_values__<model> models it contributes (ingestion/<feed>/feed.py,
-- listed by the generated macro kpi_value_models); each has these six columns. `value` is left null
-- where kpi_values derives it from the unit (percent: 100 * n / d; count: n), KPIs such as a median
-- wait in weeks set it themselves. `feed_source` matches the catalogue's computing_feed or
-- aggregate_feed (a model computing several names its own, e.g. the manual trackers: pap_milestones,
-- risk_register, survey_results); manual_scorecard is the validated manual fallback.
{% for source in kpi_value_models() %}
    select
        {% if source.feed_source is none %}feed_source,{% else %}'{{ source.feed_source }}' as feed_source,{% endif %}
        kpi_code,
        area_code,
        period_start,
        numerator,
        denominator,
        value
    from {{ ref('int_kpi_values__' ~ source.model) }}
    {% if not loop.last %}union all{% endif %}
{% endfor %}
