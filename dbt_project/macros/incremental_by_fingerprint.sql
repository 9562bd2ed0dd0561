{#- Incremental models rebuilt by changed key: each row carries the `fingerprint` of its key's inputs
    (a fingerprint model: one row per area and key, current). -#}

{#- The pre-hook of such a model: before an incremental build, delete the rows whose key's fingerprint
    changed or vanished and, with `periods` (one row per area and period_start still covered), the
    rows of months no longer covered (as after a rerun of an earlier date). What stays was computed
    from the inputs the model sees now. Nothing on a full build; every row where the table has no
    fingerprints yet (built before it was incremental). -#}
{% macro forget_changed_rows(fingerprints, key, fingerprint, periods=none) %}
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
            {%- if periods is not none %}
            or not exists (
                select 1
                from {{ periods }} as periods
                where periods.area_code = built.area_code and periods.period_start = built.period_start
            )
            {%- endif %}
        {%- endif %}
    {%- endif %}
{% endmacro %}

{#- The fingerprint rows of the keys to compute: on an incremental build those with no row left in the
    table (changed since built: the pre-hook deleted their rows; or new), on a full build every key. -#}
{% macro keys_to_build(fingerprints, key) %}
    select fingerprints.*
    from {{ fingerprints }} as fingerprints
    {%- if is_incremental() %}
        anti join (select distinct area_code, {{ key }} from {{ this }}) as built
            on
                fingerprints.area_code = built.area_code
                and fingerprints.{{ key }} = built.{{ key }}
    {%- endif %}
{% endmacro %}

{#- The code a fingerprint covers: `model`'s SQL and the project macros it calls, as one text (its
    md5 goes into every fingerprint, so changing that code recomputes every key). -#}
{% macro model_logic(model) %}
    {%- set logic = [] %}
    {%- if execute %}
        {%- set node = graph.nodes['model.' ~ project_name ~ '.' ~ model] %}
        {%- do logic.append(node.raw_code) %}
        {%- for macro in node.depends_on.macros if macro.startswith('macro.' ~ project_name ~ '.') %}
            {%- do logic.append(context[macro.split('.')[-1]].macro.macro_sql) %}
        {%- endfor %}
    {%- endif %}
    {{- return(logic | join('\n')) }}
{% endmacro %}
