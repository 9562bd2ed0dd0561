{#-
    Primary key: no key column is null and no key combination repeats, checked in one scan (one
    group by over the key), so a model needs this one test instead of a not_null test per key column
    plus unique_combination. Hand-written because dbt packages cannot be fetched on an offline install.
    One failing row per bad key: `problem` says what is wrong ('null in <column>', 'duplicate key,
    <n> rows', joined by '; ' when both), then the key values and n_rows. Rows whose key holds a null
    group together like any other key (as in unique_combination). Portable SQL (DuckDB, Postgres).
-#}
{% test primary_key(model, columns) %}
with key_counts as (
    select {{ columns | join(', ') }}, count(*) as n_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
)
select
    concat_ws('; ',
        {%- for column in columns %}
        case when {{ column }} is null then 'null in {{ column }}' end,
        {%- endfor %}
        case when n_rows > 1 then 'duplicate key, ' || cast(n_rows as varchar(20)) || ' rows' end
    ) as problem,
    {{ columns | join(', ') }}, n_rows
from key_counts
where n_rows > 1
    {%- for column in columns %} or {{ column }} is null{% endfor %}
{% endtest %}
