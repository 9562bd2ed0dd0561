{#- The last day of each month of `periods` (one row per area_code and period_start, such as an
    int_feed_periods__<source> model) as `period_end`: month-end states (caseload, backlog) are taken
    on that day. -#}
{% macro month_ends(periods) %}
    select
        area_code,
        period_start,
        (period_start + interval 1 month - interval 1 day)::date as period_end
    from {{ periods }}
{% endmacro %}
