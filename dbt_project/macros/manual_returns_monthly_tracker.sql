{#- The rows of one monthly tracker workbook table (pap_milestones, risk_register), with `period_start`:
    the month from the file name (<table>_YYYY-MM.xlsx; each workbook is the whole tracker as at that
    month). Months ending after the run's as-of date are left out, so a backfill sees what was known
    then; of an item (`key_column`) sent twice for a month, the newest file version and row wins. -#}
{% macro manual_returns_monthly_tracker(table_name, key_column) %}
    select *
    from (
        select
            *,
            try_strptime(
                regexp_extract(_source_file, '^{{ table_name }}_([0-9]{4}-[0-9]{2})', 1) || '-01', '%Y-%m-%d'
            )::date as period_start
        from {{ source('manual_returns', table_name) }}
    ) as landed
    where period_start + interval 1 month <= date '{{ as_of_date() }}' + interval 1 day
    qualify row_number() over (
        partition by period_start, trim({{ key_column }}) order by _file_version desc, _source_row desc
    ) = 1
{% endmacro %}
