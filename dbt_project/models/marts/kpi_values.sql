-- The long KPI table BI tools read: one row per KPI x area x calendar month, for every complete
-- month from var('first_period') to as_of_date(). Areas are the LAs served and, for the KPIs the LA
-- feed computes, their localities (`area_type`). Per KPI, area and month the value comes from the
-- first source that covers it: person-level feed -> aggregate feed -> validated manual scorecard ->
-- explicit 'missing' (null value, never a zero). What a report tile needs from the catalogue (name,
-- priority, direction, thresholds) is on the row. Exact figures: kpi_values_public suppresses small ones.
{{ config(tags=['every_run']) }}
with catalogue as (
    select * from {{ ref('kpi_definitions') }}
),

areas as (
    select * from {{ ref('int_areas') }}
),

platform as (
    select
        *,
        case when denominator > 0 then 100.0 * numerator / denominator end as value
    from {{ ref('int_kpi_values__platform') }}
),

-- The chosen catalogue KPIs and the platform's own, matched by column name.
kpi_rows as (
    select * from {{ ref('int_kpi_values_chosen') }}
    union all by name
    select * from platform
)

select
    kpi_rows.kpi_code::varchar as kpi_code,
    kpi_rows.area_code::varchar as area_code,
    kpi_rows.period_start::date as period_start,
    kpi_rows.period_end::date as period_end,
    'month'::varchar as period_type,
    kpi_rows.numerator::bigint as numerator,
    kpi_rows.denominator::bigint as denominator,
    kpi_rows.value::double as value,
    catalogue.unit::varchar as unit,
    catalogue.target::double as target,
    (case
        when kpi_rows.value is null or catalogue.target is null then null
        when catalogue.direction = 'higher_is_better' and kpi_rows.value >= catalogue.target then 'green'
        when catalogue.direction = 'higher_is_better' and kpi_rows.value >= catalogue.amber_threshold then 'amber'
        when catalogue.direction = 'lower_is_better' and kpi_rows.value <= catalogue.target then 'green'
        when catalogue.direction = 'lower_is_better' and kpi_rows.value <= catalogue.amber_threshold then 'amber'
        else 'red'
    end)::varchar as rag,
    kpi_rows.provenance::varchar as provenance,
    kpi_rows.source::varchar as source,
    false as is_suppressed,
    '{{ run_started_at.isoformat() }}'::timestamptz as refreshed_at,
    '{{ pipeline_run_id() }}'::varchar as run_id,
    -- Added after the first release: at the end, so reports built on the columns above keep working.
    catalogue.kpi_name::varchar as kpi_name,
    catalogue.priority_area::varchar as priority_area,
    catalogue.direction::varchar as direction,
    catalogue.amber_threshold::double as amber_threshold,
    areas.area_type::varchar as area_type,
    areas.la_code::varchar as la_code
from kpi_rows
inner join catalogue on kpi_rows.kpi_code = catalogue.kpi_code
inner join areas on kpi_rows.area_code = areas.area_code
