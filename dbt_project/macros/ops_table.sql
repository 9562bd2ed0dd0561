{#- An operational table the pipeline writes outside dbt (ops.*), or an empty relation with the given
    columns before its first run, so models reading it build on a fresh warehouse. -#}
{% macro ops_table(table, empty_columns) %}
    {%- set relation = adapter.get_relation(database=target.database, schema='ops', identifier=table) if execute else none -%}
    {%- if relation is not none -%}
        {{ relation }}
    {%- else -%}
        (select {{ empty_columns }} limit 0)
    {%- endif -%}
{% endmacro %}
