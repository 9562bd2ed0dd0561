-- The public publication profile of kpi_values: counts of 1 to 7 are suppressed (shown as null with
-- is_suppressed), and so is any rate, mean or median built on them, so a small group of children can
-- never be picked out. Zero is shown: it discloses nobody. Authorised users read kpi_values.
-- Localities add a second way in: the LA's figure minus its other localities' gives back a locality
-- hidden alone. So where exactly one locality of an LA is hidden for a KPI and month, the smallest
-- other locality with cases is hidden too (all its figures).
with exact as (
    select * from {{ ref('kpi_values') }}
),

flagged as (
    select
        *,
        numerator between 1 and 7 as small_numerator,
        denominator between 1 and 7 as small_denominator,
        coalesce(
            numerator between 1 and 7 or denominator between 1 and 7 or (unit = 'count' and value between 1 and 7),
            false
        ) as is_small
    from exact
),

-- Per locality row: how many localities of its LA are hidden for the KPI and month, and its place
-- among the others as a complement (the smallest with cases first).
localities as (
    select
        kpi_code,
        area_code,
        period_start,
        count(*) filter (where is_small) over localities_of_la as small_localities,
        row_number() over (
            partition by kpi_code, la_code, period_start
            order by is_small, coalesce(denominator, numerator, 0) = 0, coalesce(denominator, numerator), area_code
        ) as complement_rank
    from flagged
    where area_type = 'locality'
    window localities_of_la as (partition by kpi_code, la_code, period_start)
),

hidden as (
    select
        flagged.*,
        coalesce(
            localities.small_localities = 1 and localities.complement_rank = 1 and not flagged.is_small, false
        ) as is_complement
    from flagged
    left join localities
        on
            flagged.kpi_code = localities.kpi_code
            and flagged.area_code = localities.area_code
            and flagged.period_start = localities.period_start
)

select
    kpi_code,
    area_code,
    period_start,
    period_end,
    period_type,
    case when is_small or is_complement then null else numerator end as numerator,
    case when small_denominator or is_complement then null else denominator end as denominator,
    case when is_small or is_complement then null else value end as value,
    unit,
    target,
    case when is_small or is_complement then null else rag end as rag,
    provenance,
    source,
    is_small or is_complement as is_suppressed,
    refreshed_at,
    run_id,
    kpi_name,
    priority_area,
    direction,
    amber_threshold,
    area_type,
    la_code
from hidden
