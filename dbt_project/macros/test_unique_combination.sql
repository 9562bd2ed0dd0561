{#- Composite-key uniqueness, written here because dbt packages cannot be fetched on an offline install.
    For keys with a column that may be null (group by treats nulls as one value); where no key column
    may be null use primary_key (macros/test_primary_key.sql), which also replaces the not_null tests. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
