{#- School year (national curriculum year) on a date, from the birth month. The school year is set by
    age on 31 August, a month boundary, so the birth month (all ingestion keeps) gives it exactly for
    children taught in their chronological year group; those taught out of year group are not known
    to the LA case-management tables and are placed by age. -#}
{% macro la_case_management_school_year(birth_month, on_date) -%}
    (
        (year({{ on_date }}) - case when month({{ on_date }}) >= 9 then 0 else 1 end)
        - (year({{ birth_month }}) - case when month({{ birth_month }}) >= 9 then 0 else 1 end)
        - 5
    )
{%- endmacro %}

{#- Age in completed years on the last day of the month starting `period_start`. The birthday falls
    inside the birth month, so by that month's last day it has passed: exact from the birth month. -#}
{% macro la_case_management_age_at_month_end(birth_month, period_start) -%}
    (datediff('month', {{ birth_month }}, {{ period_start }}) // 12)
{%- endmacro %}
