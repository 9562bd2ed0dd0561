-- The months each source covers per area: inside them a KPI with no cases is a true zero, outside
-- them it falls back (aggregate feed, manual scorecard) or is missing.
{% set sources = ['la_case_management', 'icb_nd_referrals', 'icb_nd_waiting_list', 'manual_trackers'] %}
{% for source in sources %}
    select
        {% if source == 'manual_trackers' %}feed_source,{% else %}'{{ source }}' as feed_source,{% endif %}
        area_code,
        period_start
    from {{ ref('int_feed_periods__' ~ source) }}
    {% if not loop.last %}union all{% endif %}
{% endfor %}
