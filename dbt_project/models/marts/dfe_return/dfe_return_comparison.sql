-- The LA's reproduced DfE tables (dfe_return_*) beside the DfE's published figures for the same LA
-- and calendar year: one row per area, release table, measure column and year of ours, with the
-- release's value from its `All ...` row for the LA where the release has that row (null where it
-- has none, or publishes `x`), and ours minus the DfE's (percentage points for percentages).
{%- set tables = ['requests', 'assessments', 'timeliness_20_week', 'annual_reviews'] %}
with
{% for table_name in tables %}
    published_{{ table_name }} as (
        select *
        from {{ ref('stg_dfe_ehcp_statistics__' ~ table_name) }}
        where geographic_level = 'LOCAL_AUTHORITY' and is_total and geography_code is not null
    ),
{% endfor %}

compared as (
    {% for table_name in tables %}
        {%- set outer_loop = loop %}
        {% for column_name in dfe_return_measures(table_name) %}
            select
                ours.area_code,
                ours.la_name,
                '{{ table_name }}' as dfe_table,
                {{ outer_loop.index }} as table_position,
                '{{ column_name }}' as column_name,
                {{ loop.index }} as column_position,
                '{{ "percent" if "pc_" in column_name.lower() or column_name.lower().endswith("_pc") else "count" }}'
                    as unit,
                ours.time_period,
                ours.time_identifier,
                ours.is_complete_year,
                ours.{{ column_name }}::double as our_value,
                published.time_period is not null as dfe_published,
                published.{{ column_name }}::double as dfe_value
            from {{ ref('dfe_return_' ~ table_name) }} as ours
            left join published_{{ table_name }} as published
                on
                    ours.area_code = published.geography_code
                    and ours.time_period = published.time_period
            {% if not (outer_loop.last and loop.last) %}union all{% endif %}
        {% endfor %}
    {% endfor %}
)

select
    area_code::varchar as area_code,
    la_name::varchar as la_name,
    dfe_table::varchar as dfe_table,
    table_position::integer as table_position,
    column_name::varchar as column_name,
    column_position::integer as column_position,
    unit::varchar as unit,
    time_period::varchar as time_period,
    time_identifier::varchar as time_identifier,
    is_complete_year::boolean as is_complete_year,
    our_value::double as our_value,
    dfe_published::boolean as dfe_published,
    dfe_value::double as dfe_value,
    (our_value - dfe_value)::double as difference
from compared
