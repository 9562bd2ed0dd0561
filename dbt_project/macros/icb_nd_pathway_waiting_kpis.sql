{#- The four ND waiting KPIs of each pathway (ND_<pathway>_WAITING, _WAITING_13WK, _WAITING_52WK,
    _SUPPORT_WHILE_WAITING) from `waiting`: one row per area, pathway and month with the children
    waiting at the month end (`waiting`), those waiting over 13 and over 52 weeks and those offered
    support while waiting. The person-level feed and the aggregate stand-in both define them here. -#}
{% macro icb_nd_pathway_waiting_kpis(waiting) %}
    {{ kpi_select("'ND_' || pathway || '_WAITING'", waiting, numerator='waiting') }}
    union all
    {{ kpi_select("'ND_' || pathway || '_WAITING_13WK'", waiting, numerator='waiting_over_13_weeks') }}
    union all
    {{ kpi_select("'ND_' || pathway || '_WAITING_52WK'", waiting, numerator='waiting_over_52_weeks') }}
    union all
    {{ kpi_select(
        "'ND_' || pathway || '_SUPPORT_WHILE_WAITING'", waiting,
        numerator='waiting_with_support', denominator='waiting'
    ) }}
{% endmacro %}
