{#- The shape of every int_kpi_values__<source> model (read by kpi/int_kpi_feed_values.sql): one row per
    KPI, area and month with `numerator`, `denominator` and `value`, each null where the KPI has none
    (a count has no denominator, a weeks KPI no numerator; `value` is set only where the unit cannot
    derive it, such as a mean or median in weeks). -#}

{#- One KPI's rows. `kpi_code` is a SQL expression (a quoted code, or `'ND_' || pathway || ...` where one
    select serves several pathways); `cases` the relation read, `where` the cases that count.
    With `month_of` (a date) the cases are counted per area and the calendar month of that date, and
    `numerator` / `denominator` / `value` are aggregates; without it `cases` already holds one row per
    area and month (`period_start`). -#}
{% macro kpi_select(kpi_code, cases, month_of=none, numerator='null', denominator='null', value='null', where=none) %}
    select
        {{ kpi_code }} as kpi_code,
        area_code,
        {% if month_of -%}
            date_trunc('month', {{ month_of }})::date as period_start,
        {%- else -%}
            period_start,
        {%- endif %}
        {{ numerator }} as numerator,
        {{ denominator }} as denominator,
        {{ value }} as value
    from {{ cases }}
    {%- if where %}
    where {{ where }}
    {%- endif %}
    {%- if month_of %}
    group by area_code, date_trunc('month', {{ month_of }})
    {%- endif %}
{% endmacro %}

{#- A count KPI: the cases (`where`) per area and month of `month_of`. With `meeting`, only the cases
    meeting it are counted, and a month with cases but none meeting it still has a row (a zero). -#}
{% macro kpi_count(kpi_code, cases, month_of, where=none, meeting=none) %}
    {%- set numerator = 'count(*) filter (where ' ~ meeting ~ ')' if meeting else 'count(*)' -%}
    {{ kpi_select("'" ~ kpi_code ~ "'", cases, month_of, numerator=numerator, where=where) }}
{% endmacro %}

{#- A percent KPI: of the cases (`where`) per area and month of `month_of` (the denominator), those
    `meeting` the condition (the numerator). `counting` is what is counted: every case (`*`), or for
    example `distinct person_key`. -#}
{% macro kpi_share(kpi_code, cases, month_of, meeting, where=none, counting='*') %}
    {{ kpi_select(
        "'" ~ kpi_code ~ "'", cases, month_of,
        numerator='count(' ~ counting ~ ') filter (where ' ~ meeting ~ ')',
        denominator='count(' ~ counting ~ ')',
        where=where
    ) }}
{% endmacro %}

{#- A weeks KPI: `statistic` (avg, max, ...) of `days` over the cases per area and month of `month_of`,
    divided by 7 (weeks = days / 7); the denominator is the number of cases, the numerator null. -#}
{% macro kpi_weeks(kpi_code, cases, month_of, statistic, days, where=none) %}
    {{ kpi_select(
        "'" ~ kpi_code ~ "'", cases, month_of,
        denominator='count(*)',
        value=statistic ~ '(' ~ days ~ ') / 7.0',
        where=where
    ) }}
{% endmacro %}

{#- The columns of an int_kpi_values__<source> model, typed, from a relation of the shape above
    (`value`: the column or expression giving it, `null` where the source sets none). -#}
{% macro kpi_value_columns(value='value') -%}
    kpi_code::varchar as kpi_code,
    area_code::varchar as area_code,
    period_start::date as period_start,
    numerator::bigint as numerator,
    denominator::bigint as denominator,
    {{ value }}::double as value
{%- endmacro %}

{#- The `cases` (a CTE with area_code and person_key) once for their LA and once more for the locality
    of each case's child (int_person_localities, area_code then the locality's code), so a KPI grouped
    by area_code has rows for both. A case whose child has no locality counts for the LA only. -#}
{% macro with_localities(cases) %}
    select * from {{ cases }}
    union all
    select {{ cases }}.* replace (localities.locality_code as area_code)
    from {{ cases }}
    inner join {{ ref('int_person_localities') }} as localities
        on
            {{ cases }}.area_code = localities.area_code
            and {{ cases }}.person_key = localities.person_key
{% endmacro %}
