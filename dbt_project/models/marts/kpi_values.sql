-- The long KPI table BI tools read: one row per KPI x area x calendar month, for every complete
-- month from var('first_period') to var('as_of'). Per KPI, area and month the value comes from the
-- first source that covers it: person-level feed -> aggregate feed -> validated manual scorecard ->
-- explicit 'missing' (null value, never a zero).
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

feed_periods as (
    select * from {{ ref('int_feed_periods') }}
),

feed_values as (
    select * from {{ ref('int_kpi_feed_values') }}
),

-- A KPI a source never produced a row for is not computed by it (yet): missing, not zero.
implemented as (
    select distinct
        feed_source,
        kpi_code
    from feed_values
),

-- The areas the platform serves: those with an LA case-management feed.
areas as (
    select distinct area_code from feed_periods
    where feed_source = 'la_case_management'
),

grid as (
    select
        catalogue.*,
        areas.area_code,
        periods.period_start,
        periods.period_end
    from catalogue
    cross join areas
    cross join periods
),

-- The automated sources of each KPI in order of precedence. KPIs kept in hand-filled trackers
-- (milestones, risks, surveys) are manual figures even though they arrive as files.
ranked_sources as (
    select
        kpi_code,
        1 as rank,
        computing_feed as feed_source,
        case
            when computing_feed in ('pap_milestones', 'risk_register', 'survey_results') then 'manual'
            else 'feed'
        end as provenance
    from catalogue
    union all
    select
        kpi_code,
        2 as rank,
        aggregate_feed as feed_source,
        'aggregate_feed' as provenance
    from catalogue
    where coalesce(aggregate_feed, '') != ''
),

-- A source covering the month is a value (zero-filled when it had no cases); the first wins.
candidates as (
    select
        grid.kpi_code,
        grid.area_code,
        grid.period_start,
        candidate.rank,
        candidate.provenance,
        candidate.feed_source,
        coalesce(feed_values.numerator, 0) as numerator,
        coalesce(feed_values.denominator, 0) as denominator,
        feed_values.value as feed_value
    from grid
    inner join ranked_sources as candidate on grid.kpi_code = candidate.kpi_code
    inner join feed_periods
        on
            candidate.feed_source = feed_periods.feed_source
            and grid.area_code = feed_periods.area_code
            and grid.period_start = feed_periods.period_start
    inner join implemented
        on
            candidate.feed_source = implemented.feed_source
            and grid.kpi_code = implemented.kpi_code
    left join feed_values
        on
            candidate.feed_source = feed_values.feed_source
            and grid.kpi_code = feed_values.kpi_code
            and grid.area_code = feed_values.area_code
            and grid.period_start = feed_values.period_start

    union all

    select
        grid.kpi_code,
        grid.area_code,
        grid.period_start,
        3 as rank,
        'manual' as provenance,
        'manual_scorecard' as feed_source,
        feed_values.numerator,
        feed_values.denominator,
        feed_values.value as feed_value
    from grid
    inner join feed_values
        on
            feed_values.feed_source = 'manual_scorecard'
            and grid.kpi_code = feed_values.kpi_code
            and grid.area_code = feed_values.area_code
            and grid.period_start = feed_values.period_start
    where grid.manual_allowed
),

chosen as (
    select * from candidates
    qualify row_number() over (partition by kpi_code, area_code, period_start order by rank) = 1
),

valued as (
    select
        grid.*,
        chosen.numerator,
        chosen.denominator,
        chosen.feed_source,
        coalesce(chosen.provenance, 'missing') as provenance,
        case
            when chosen.feed_value is not null then chosen.feed_value
            when grid.unit = 'percent' and chosen.denominator > 0 then 100.0 * chosen.numerator / chosen.denominator
            when grid.unit = 'count' then chosen.numerator::double
        end as value
    from grid
    left join chosen
        on
            grid.kpi_code = chosen.kpi_code
            and grid.area_code = chosen.area_code
            and grid.period_start = chosen.period_start
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
    provenance::varchar as provenance,
    feed_source::varchar as source,
    false as is_suppressed,
    '{{ run_started_at.isoformat() }}'::timestamptz as refreshed_at,
    '{{ var("run_id") }}'::varchar as run_id
from valued
