-- Every KPI value any source computed, long format: one row per source, KPI, area and month that had
-- cases. Each source contributes an int_kpi_values__<source> model with these six columns; `value` is
-- left null where kpi_values derives it from the unit (percent: 100 * n / d; count: n), KPIs such as a
-- median wait in weeks set it themselves. `feed_source` matches the catalogue's computing_feed or
-- aggregate_feed (the tracker models name their own: pap_milestones, risk_register, survey_results);
-- manual_scorecard is the validated manual fallback.
{% set sources = [
    'la_case_management', 'icb_nd_referrals', 'icb_nd_waiting_list', 'manual_trackers', 'manual_scorecard'
] %}
{% for source in sources %}
    select
        {% if source == 'manual_trackers' %}feed_source,{% else %}'{{ source }}' as feed_source,{% endif %}
        kpi_code,
        area_code,
        period_start,
        numerator,
        denominator,
        value
    from {{ ref('int_kpi_values__' ~ source) }}
    {% if not loop.last %}union all{% endif %}
{% endfor %}
