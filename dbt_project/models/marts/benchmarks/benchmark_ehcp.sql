-- Each LA against its region, England and its ten statistical neighbours on the DfE "Education, health
-- and care plans" measures, from the published rows of each file's `All ...` topic (totals; never summed
-- across breakdowns, never re-computed). One row per LA, measure and time period.
-- la_rank: 1 = the highest value among LAs, whatever the direction. After the DfE's LAIT: the neighbours'
-- average is the unweighted mean of the neighbours' values, missing left out; performance_rank is 1 = best
-- in the measure's direction, ties sharing the best rank; the quartile band cuts the LAs' values at their
-- quartiles (linear interpolation, R's default), A the best quarter. None for measures without a direction.
{% set measures = [
    ('caseload', 'active_plans', 'ehcplans', 'count', 'none', 'Active EHC plans at the January census'),
    ('requests', 'requests_received', 'requests_received_in_year', 'count', 'none',
        'Requests for an EHC needs assessment received in the calendar year'),
    ('requests', 'requests_decided_within_6_weeks_pc', 'request_outcome_six_weeks_pc', 'percent',
        'higher_is_better', 'Decisions whether to assess made within 6 weeks (%)'),
    ('timeliness_20_week', 'plans_issued', 'plans_issued_den', 'count', 'none',
        'New EHC plans issued in the calendar year'),
    ('timeliness_20_week', 'plans_issued_within_20_weeks_pc', 'pc_plans_issued_within_20_weeks', 'percent',
        'higher_is_better', 'New plans issued within 20 weeks, all cases (%)'),
    ('timeliness_20_week', 'plans_issued_within_20_weeks_ex_pc', 'pc_plans_issued_20_weeks_ex', 'percent',
        'higher_is_better', 'New plans issued within 20 weeks, excluding exception cases (%)'),
    ('timeliness_20_week', 'plans_issued_20_to_52_weeks_pc', 'pc_plans_issued_gt20weeks_ltyear', 'percent',
        'lower_is_better', 'New plans issued after 20 and within 52 weeks, all cases (%)'),
    ('timeliness_20_week', 'plans_issued_over_52_weeks_pc', 'pc_plans_issued_gt_1_year', 'percent',
        'lower_is_better', 'New plans issued after more than 52 weeks, all cases (%)'),
    ('assessments', 'assessments_decided_within_time_pc', 'outcome_decision_within_time_pc', 'percent',
        'higher_is_better', 'Decisions whether to issue a plan made within 16 weeks (%)'),
    ('annual_reviews', 'review_decisions_within_4_weeks_pc', 'pc_decsion_4weeks', 'percent',
        'higher_is_better', 'Annual review decisions made within 4 weeks of the meeting (%)'),
    ('sen_needs_all_plans', 'primary_need_asd_pc', 'asd_pc', 'percent', 'none',
        'Active plans with autistic spectrum disorder as primary need (%)'),
] %}
with published as (
    {% for table_name, measure, column, unit, direction, label in measures %}
        select
            '{{ measure }}' as measure,
            '{{ label }}' as measure_label,
            '{{ unit }}' as unit,
            '{{ direction }}' as direction,
            time_period,
            time_identifier,
            period_label,
            period_start,
            geographic_level,
            geography_code,
            region_code,
            region_name,
            la_name,
            {{ column }}::double as measure_value
        from {{ ref('stg_dfe_ehcp_statistics__' ~ table_name) }}
        where is_total
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

las as (
    -- gss_code: the current ONS code, the statistical-neighbour list's (the release writes Buckinghamshire
    -- E06000060 in some years and its county code E10000002 in others).
    select
        published.*,
        coalesce(aliases.gss_code, published.geography_code) as gss_code
    from published
    left join {{ ref('la_code_aliases') }} as aliases
        on published.geography_code = aliases.dfe_code
    where published.geographic_level = 'LOCAL_AUTHORITY' and published.geography_code is not null
),

regions as (
    select * from published
    where geographic_level = 'REGIONAL'
),

england as (
    select * from published
    where geographic_level = 'NATIONAL'
),

-- The quartiles of the LAs' values (quantile_cont: linear interpolation, as R's quantile() in LAIT).
quartiles as (
    select
        measure,
        time_period,
        quantile_cont(measure_value, 0.25) as lower_quartile,
        quantile_cont(measure_value, 0.5) as median,
        quantile_cont(measure_value, 0.75) as upper_quartile
    from las
    group by measure, time_period
),

-- Each LA's ten neighbours' values for the same measure and period, matched on ONS codes whichever code
-- the release wrote that year. A neighbour without a value is left out of the average, not zero.
neighbour_values as (
    select
        las.geography_code,
        las.measure,
        las.time_period,
        count(*) as neighbours_listed,
        count(neighbour.measure_value) as neighbours_with_value,
        avg(neighbour.measure_value) as neighbour_average
    from las
    inner join {{ ref('dim_area_neighbours') }} as neighbours
        on las.gss_code = neighbours.gss_code
    left join las as neighbour
        on
            neighbours.neighbour_gss_code = neighbour.gss_code
            and las.measure = neighbour.measure
            and las.time_period = neighbour.time_period
    group by las.geography_code, las.measure, las.time_period
)

select
    las.geography_code::varchar as area_code,
    las.la_name::varchar as la_name,
    las.measure::varchar as measure,
    las.measure_label::varchar as measure_label,
    las.unit::varchar as unit,
    las.time_period::varchar as time_period,
    las.time_identifier::varchar as time_identifier,
    las.period_label::varchar as period_label,
    las.period_start::date as period_start,
    las.measure_value::double as la_value,
    las.region_code::varchar as region_code,
    las.region_name::varchar as region_name,
    regions.measure_value::double as region_value,
    england.measure_value::double as england_value,
    (case when las.measure_value is not null then rank() over (
        partition by las.measure, las.time_period, las.measure_value is null order by las.measure_value desc
    ) end)::integer as la_rank,
    (count(las.measure_value) over (partition by las.measure, las.time_period))::integer as las_ranked,
    las.direction::varchar as direction,
    neighbour_values.neighbour_average::double as neighbour_average,
    coalesce(neighbour_values.neighbours_with_value, 0)::integer as neighbours_with_value,
    coalesce(neighbour_values.neighbours_listed, 0)::integer as neighbours_listed,
    (case when las.measure_value is not null and las.direction != 'none' then rank() over (
        partition by las.measure, las.time_period, las.measure_value is null
        order by case when las.direction = 'lower_is_better' then las.measure_value else -las.measure_value end
    ) end)::integer as performance_rank,
    -- LAIT's bands: a value on a quartile falls in the band below it (in value), whatever the direction.
    (case
        when las.measure_value is null or las.direction = 'none' then null
        when las.direction = 'higher_is_better' and las.measure_value <= quartiles.lower_quartile then 'D'
        when las.direction = 'higher_is_better' and las.measure_value <= quartiles.median then 'C'
        when las.direction = 'higher_is_better' and las.measure_value <= quartiles.upper_quartile then 'B'
        when las.direction = 'higher_is_better' then 'A'
        when las.measure_value <= quartiles.lower_quartile then 'A'
        when las.measure_value <= quartiles.median then 'B'
        when las.measure_value <= quartiles.upper_quartile then 'C'
        else 'D'
    end)::varchar as quartile_band,
    quartiles.lower_quartile::double as las_lower_quartile,
    quartiles.median::double as las_median,
    quartiles.upper_quartile::double as las_upper_quartile
from las
left join regions
    on
        las.measure = regions.measure
        and las.time_period = regions.time_period
        and las.region_code = regions.region_code
left join england
    on
        las.measure = england.measure
        and las.time_period = england.time_period
left join quartiles
    on
        las.measure = quartiles.measure
        and las.time_period = quartiles.time_period
left join neighbour_values
    on
        las.geography_code = neighbour_values.geography_code
        and las.measure = neighbour_values.measure
        and las.time_period = neighbour_values.time_period
