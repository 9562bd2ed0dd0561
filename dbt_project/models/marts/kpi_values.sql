-- The long KPI table BI tools read: one row per KPI x area x calendar month, for every complete
-- month from var('first_period') to var('as_of'). A KPI no feed could compute is an explicit row
-- with provenance 'missing' and a null value, never a zero.
with catalogue as (
    select * from {{ ref('kpi_definitions') }}
),

months as (
    select unnest(range(date '{{ var("first_period") }}', date '{{ var("as_of") }}', interval 1 month)) as month_start
),

periods as (
    select
        month_start::date as period_start,
        (month_start + interval 1 month - interval 1 day)::date as period_end
    from months
    where month_start + interval 1 month <= date '{{ var("as_of") }}'
),

feeds as (
    select * from {{ ref('int_areas_with_feeds') }}
),

areas as (
    select distinct area_code from feeds
),

-- KPIs whose feed computation exists; the rest of the catalogue is reported as missing.
implemented as (
    select distinct kpi_code from {{ ref('int_kpi_feed_values') }}
),

grid as (
    select
        catalogue.kpi_code,
        catalogue.unit,
        catalogue.direction,
        catalogue.target,
        catalogue.amber_threshold,
        catalogue.computing_feed,
        areas.area_code,
        periods.period_start,
        periods.period_end,
        feeds.first_period_start is not null and implemented.kpi_code is not null as feed_covers_period
    from catalogue
    cross join areas
    cross join periods
    left join implemented on catalogue.kpi_code = implemented.kpi_code
    left join feeds
        on
            areas.area_code = feeds.area_code
            and catalogue.computing_feed = feeds.feed
            and periods.period_start >= feeds.first_period_start
),

computed as (
    select
        grid.*,
        case when grid.feed_covers_period then coalesce(feed_values.numerator, 0) end as numerator,
        case when grid.feed_covers_period then coalesce(feed_values.denominator, 0) end as denominator,
        case when grid.feed_covers_period then feed_values.value end as feed_value
    from grid
    left join {{ ref('int_kpi_feed_values') }} as feed_values
        on
            grid.kpi_code = feed_values.kpi_code
            and grid.area_code = feed_values.area_code
            and grid.period_start = feed_values.period_start
),

valued as (
    select
        *,
        case
            when feed_value is not null then feed_value
            when unit = 'percent' and denominator > 0 then 100.0 * numerator / denominator
            when unit = 'count' then numerator::double
        end as value
    from computed
)

select
    kpi_code::varchar as kpi_code,
    area_code::varchar as area_code,
    period_start::date as period_start,
    period_end::date as period_end,
    'month'::varchar as period_type,
    numerator::bigint as numerator,
    denominator::bigint as denominator,
    value::double as value,
    unit::varchar as unit,
    target::double as target,
    (case
        when value is null or target is null then null
        when direction = 'higher_is_better' and value >= target then 'green'
        when direction = 'higher_is_better' and value >= amber_threshold then 'amber'
        when direction = 'lower_is_better' and value <= target then 'green'
        when direction = 'lower_is_better' and value <= amber_threshold then 'amber'
        else 'red'
    end)::varchar as rag,
    (case when feed_covers_period then 'feed' else 'missing' end)::varchar as provenance,
    (case when feed_covers_period then computing_feed end)::varchar as source,
    false as is_suppressed,
    '{{ run_started_at.isoformat() }}'::timestamptz as refreshed_at,
    '{{ var("run_id") }}'::varchar as run_id
from valued
