{#- Tidy one DfE EES release table: time period as a calendar or academic year with a reference date,
    geography normalised (NATIONAL / REGIONAL / LOCAL_AUTHORITY, with one `geography_code`), every
    breakdown topic kept (the `All ...` topic holds the totals; never sum across topics), measures as
    loaded (`x` / `z` already null); of a file the DfE revised, the newest version only. -#}
{% macro nd_dfe_tidy(table_name) %}
with landed as (
    -- A revised release comes under the same file name as a new version: the newest is the release.
    select * from {{ source('dfe_ehcp_statistics', table_name) }}
    qualify _file_version = max(_file_version) over (partition by _source_file)
)

select
    trim(time_period) as time_period,
    upper(trim(time_identifier)) as time_identifier,
    case
        when length(trim(time_period)) = 6
            then left(trim(time_period), 4) || '/' || right(trim(time_period), 2)
        else trim(time_period)
    end as period_label,
    case when length(trim(time_period)) = 4 then try_cast(trim(time_period) as integer) end as calendar_year,
    case
        when length(trim(time_period)) = 6
            then left(trim(time_period), 4) || '/' || right(trim(time_period), 2)
    end as academic_year,
    -- Calendar year: 1 January; academic year 202425: its January census month (January 2025).
    case
        when length(trim(time_period)) = 6
            then make_date(try_cast(left(trim(time_period), 4) as integer) + 1, 1, 1)
        else make_date(try_cast(trim(time_period) as integer), 1, 1)
    end as period_start,
    replace(upper(trim(geographic_level)), ' ', '_') as geographic_level,
    case replace(upper(trim(geographic_level)), ' ', '_')
        when 'NATIONAL' then country_code
        when 'REGIONAL' then region_code
        else new_la_code
    end as geography_code,
    country_code,
    region_code,
    region_name,
    new_la_code,
    old_la_code,
    la_name,
    trim(breakdown_topic) as breakdown_topic,
    trim(breakdown) as breakdown,
    upper(trim(breakdown_topic)) like 'ALL %' as is_total,
    * exclude (
        time_period, time_identifier, geographic_level, country_code, country_name, region_code, region_name,
        new_la_code, old_la_code, la_name, breakdown_topic, breakdown,
        _source_file, _source_row, _file_version, _batch_id, _loaded_at
    )
from landed
{% endmacro %}
