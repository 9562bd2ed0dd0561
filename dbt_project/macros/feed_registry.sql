{#- Generated from the feed registry (ingestion/<feed>/feed.py) by `python -m ingestion.registry`:
    do not edit. Each feed's int_kpi_values__<model> (feed_source none: the model names its own)
    and int_feed_periods__<model> (by_kpi: it covers per KPI, with a kpi_code column; by_locality:
    its KPI values come per locality too, each covered where its LA is). -#}
{% macro kpi_value_models() %}
    {{ return([{'model': 'icb_nd_referrals', 'feed_source': 'icb_nd_referrals'}, {'model': 'icb_nd_waiting_list', 'feed_source': 'icb_nd_waiting_list'}, {'model': 'la_case_management', 'feed_source': 'la_case_management'}, {'model': 'manual_trackers', 'feed_source': none}, {'model': 'manual_scorecard', 'feed_source': 'manual_scorecard'}]) }}
{% endmacro %}

{% macro feed_period_models() %}
    {{ return([{'model': 'icb_nd_referrals', 'by_kpi': true, 'by_locality': false}, {'model': 'icb_nd_waiting_list', 'by_kpi': true, 'by_locality': false}, {'model': 'la_case_management', 'by_kpi': false, 'by_locality': true}, {'model': 'manual_trackers', 'by_kpi': false, 'by_locality': false}]) }}
{% endmacro %}
