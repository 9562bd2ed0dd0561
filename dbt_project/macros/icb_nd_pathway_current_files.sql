{#- The current files of one ICB provider table (nd_referrals, nd_waiting_list), with `snapshot_month`:
    the month a file describes, from its name (<ODS>_<TABLE>_<YYYYMM>[_vN].csv), else from its
    snapshot date. Months not yet ended on the run's as-of date are left out (a backfill sees what was
    known then); of a provider's month only the highest `_file_version` is kept, as a resubmission
    (_v2, _v3 ...) replaces the earlier file whole. -#}
{% macro icb_nd_pathway_current_files(table_name) %}
    select *
    from (
        select
            *,
            coalesce(
                try_strptime(regexp_extract(_source_file, '_([0-9]{6})(_v[0-9]+)?\.csv$', 1), '%Y%m')::date,
                date_trunc('month', snapshot_date)::date
            ) as snapshot_month
        from {{ source('icb_nd_pathway', table_name) }}
    ) as landed
    where snapshot_month + interval 1 month <= date '{{ as_of_date() }}' + interval 1 day
    qualify _file_version = max(_file_version) over (partition by provider_ods_code, snapshot_month)
{% endmacro %}
