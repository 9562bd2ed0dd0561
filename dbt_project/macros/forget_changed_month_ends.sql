{#- The pre-hook of an incremental month-end model (one row per area, month and `key`, each carrying
    the `fingerprint` of its inputs): before an incremental build, delete the rows whose key's
    fingerprint changed or vanished (`fingerprints`: one row per area and key, current) and the rows
    of months the feed no longer covers (`periods`, as after a rerun of an earlier date). What stays
    was computed from the inputs the model sees now. Nothing on a full build; every row where the
    table has no fingerprints yet (built before it was incremental). -#}
{% macro forget_changed_month_ends(fingerprints, key, fingerprint, periods) %}
    {%- if is_incremental() %}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
        delete from {{ this }} as built
        {%- if fingerprint in columns %}
        where
            not exists (
                select 1
                from {{ fingerprints }} as current
                where
                    current.area_code = built.area_code
                    and current.{{ key }} = built.{{ key }}
                    and current.{{ fingerprint }} = built.{{ fingerprint }}
            )
            or not exists (
                select 1
                from {{ periods }} as periods
                where periods.area_code = built.area_code and periods.period_start = built.period_start
            )
        {%- endif %}
    {%- endif %}
{% endmacro %}
