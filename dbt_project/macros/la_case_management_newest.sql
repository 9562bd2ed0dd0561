{#- The current state of one LA case-management table: the newest extracted version of each row
    (by last_modified_at, then load time), less rows the last full reconciliation found deleted at
    source (raw_la_case_management.deleted_keys; record_key is the key as landed, hashed where the
    key is an identifier). -#}
{% macro la_case_management_newest(table_name, key_column) %}
    select versions.*
    from {{ source('la_case_management', table_name) }} as versions
    where not exists (
        select 1
        from {{ source('la_case_management', 'deleted_keys') }} as deleted
        where
            deleted.source_table = '{{ table_name }}'
            and deleted.area_code = versions.area_code
            and deleted.record_key = versions.{{ key_column }}::varchar
    )
    qualify
        row_number() over (
            partition by versions.area_code, versions.{{ key_column }}
            order by versions.last_modified_at desc, versions._loaded_at desc
        ) = 1
{% endmacro %}
