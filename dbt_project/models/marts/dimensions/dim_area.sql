-- The conformed area dimension: every LA in the DfE "Education, health and care plans" release, keyed
-- by the release's code (area_code, as in kpi_values and benchmark_ehcp), with its name, DfE
-- three-digit code and region as of the newest period it appears in, its current ONS code, its ICB
-- where the seed la_icb grounds it (null elsewhere), and its ten statistical neighbours in rank order.
-- An LA of the statistical-neighbour list that the release does not carry (or every LA, when no release
-- is loaded) has a row from the list: its name as the list writes it, no region.
-- An LA the release writes under two codes (Buckinghamshire: E06000060 in 2020-2022, E10000002 in the
-- other years) has a row per code, with the same gss_code and neighbours. Each locality an LA reports
-- by (seed area_localities, area_type locality) has a row too, under its LA's region and ICB, so every
-- area_code of kpi_values joins here.
{% set release_tables = [
    'caseload', 'sen_needs_all_plans', 'requests', 'assessments', 'timeliness_20_week', 'annual_reviews'
] %}
with published as (
    {% for table_name in release_tables %}
        select
            geography_code,
            la_name,
            old_la_code,
            region_code,
            region_name,
            period_start,
            -- The file's newest period: an LA with a row there exists now.
            period_start = max(period_start) over () as in_newest_period
        from {{ ref('stg_dfe_ehcp_statistics__' ~ table_name) }}
        where geographic_level = 'LOCAL_AUTHORITY' and geography_code is not null
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

released as (
    -- Name, code and region as published in the newest period the LA appears in.
    select
        geography_code as area_code,
        arg_max(la_name, period_start) as area_name,
        arg_max(old_la_code, period_start) as old_la_code,
        arg_max(region_code, period_start) as region_code,
        arg_max(region_name, period_start) as region_name,
        min(period_start) as first_period_start,
        max(period_start) as latest_period_start,
        bool_or(in_newest_period) as is_current
    from published
    group by geography_code
),

listed as (
    select
        area_code,
        any_value(area_name) as area_name
    from (
        select
            area_code,
            area_name
        from {{ ref('dim_area_neighbours') }}
        union all
        select
            neighbour_area_code as area_code,
            neighbour_name as area_name
        from {{ ref('dim_area_neighbours') }}
    )
    group by area_code
),

areas as (
    select * from released
    union all
    select
        area_code,
        area_name,
        null as old_la_code,
        null as region_code,
        null as region_name,
        null as first_period_start,
        null as latest_period_start,
        true as is_current
    from listed
    where area_code not in (select r.area_code from released as r)
),

neighbour_lists as (
    select
        gss_code,
        string_agg(neighbour_area_code, ',' order by neighbour_rank) as neighbour_area_codes,
        count(*) as neighbour_count
    from {{ ref('dim_area_neighbours') }}
    group by gss_code
),

las as (
    select
        areas.area_code,
        coalesce(aliases.gss_code, areas.area_code) as gss_code,
        areas.area_name,
        areas.old_la_code,
        areas.region_code,
        areas.region_name,
        icb.icb_code,
        icb.icb_name,
        icb.icb_coverage,
        neighbour_lists.neighbour_area_codes,
        coalesce(neighbour_lists.neighbour_count, 0) as neighbour_count,
        areas.first_period_start,
        areas.latest_period_start,
        areas.is_current
    from areas
    left join {{ ref('la_code_aliases') }} as aliases
        on areas.area_code = aliases.dfe_code
    left join {{ ref('la_icb') }} as icb
        on areas.area_code = icb.la_code
    left join neighbour_lists
        on coalesce(aliases.gss_code, areas.area_code) = neighbour_lists.gss_code
),

localities as (
    select
        la_code,
        locality_code,
        any_value(locality_name) as locality_name,
        string_agg(postcode_district, ',' order by postcode_district) as postcode_districts
    from {{ ref('area_localities') }}
    group by la_code, locality_code
)

select
    area_code::varchar as area_code,
    'la'::varchar as area_type,
    area_code::varchar as la_code,
    gss_code::varchar as gss_code,
    area_name::varchar as area_name,
    old_la_code::varchar as old_la_code,
    region_code::varchar as region_code,
    region_name::varchar as region_name,
    icb_code::varchar as icb_code,
    icb_name::varchar as icb_name,
    icb_coverage::varchar as icb_coverage,
    neighbour_area_codes::varchar as neighbour_area_codes,
    neighbour_count::integer as neighbour_count,
    null::varchar as postcode_districts,
    first_period_start::date as first_period_start,
    latest_period_start::date as latest_period_start,
    is_current::boolean as is_current
from las
union all
select
    localities.locality_code as area_code,
    'locality' as area_type,
    las.area_code as la_code,
    las.gss_code,
    localities.locality_name as area_name,
    las.old_la_code,
    las.region_code,
    las.region_name,
    las.icb_code,
    las.icb_name,
    las.icb_coverage,
    null as neighbour_area_codes,
    0 as neighbour_count,
    localities.postcode_districts,
    null as first_period_start,
    null as latest_period_start,
    las.is_current
from localities
inner join las on localities.la_code = las.area_code
