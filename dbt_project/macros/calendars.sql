{#- The day after the last day dim_date and dim_month cover: 1 April after the financial year that
    follows the one holding the run's as-of date. -#}
{% macro dim_date_end() -%}
    (
        make_date(
            year(date '{{ as_of_date() }}') + case when month(date '{{ as_of_date() }}') >= 4 then 2 else 1 end, 4, 1
        )
    )
{%- endmacro %}

{#- The reporting calendars of the day or month `day`: calendar, financial year (1 April to 31 March,
    "2025/26"), academic year (1 September to 31 August, "2025/26", terms by month as the DfE's
    termly censuses: autumn September-December, spring January-March, summer April-August) and the
    board's month labels ("Dec 2025", "December 2025"). -#}
{% macro calendar_columns(day) -%}
    month({{ day }})::integer as month_number,
    strftime({{ day }}, '%B')::varchar as month_name,
    strftime({{ day }}, '%b %Y')::varchar as month_label,
    strftime({{ day }}, '%B %Y')::varchar as month_label_long,
    year({{ day }})::integer as calendar_year,
    quarter({{ day }})::integer as calendar_quarter,
    (year({{ day }}) - case when month({{ day }}) < 4 then 1 else 0 end)::integer as financial_year_start,
    (
        (year({{ day }}) - case when month({{ day }}) < 4 then 1 else 0 end)::varchar || '/'
        || right((year({{ day }}) - case when month({{ day }}) < 4 then 0 else -1 end)::varchar, 2)
    )::varchar as financial_year,
    ((month({{ day }}) + 8) % 12 // 3 + 1)::integer as financial_quarter,
    ((month({{ day }}) + 8) % 12 + 1)::integer as financial_month_number,
    (year({{ day }}) - case when month({{ day }}) < 9 then 1 else 0 end)::integer as academic_year_start,
    (
        (year({{ day }}) - case when month({{ day }}) < 9 then 1 else 0 end)::varchar || '/'
        || right((year({{ day }}) - case when month({{ day }}) < 9 then 0 else -1 end)::varchar, 2)
    )::varchar as academic_year,
    (case
        when month({{ day }}) >= 9 then 'autumn'
        when month({{ day }}) <= 3 then 'spring'
        else 'summer'
    end)::varchar as academic_term,
    ((month({{ day }}) + 3) % 12 + 1)::integer as academic_month_number
{%- endmacro %}
