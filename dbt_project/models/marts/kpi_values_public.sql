-- The public publication profile of kpi_values: counts of 1 to 7 are suppressed (shown as null with
-- is_suppressed), and so is any rate, mean or median built on them, so a small group of children can
-- never be picked out. Zero is shown: it discloses nobody. Authorised users read kpi_values.
with exact as (
    select * from {{ ref('kpi_values') }}
),

flagged as (
    select
        *,
        numerator between 1 and 7 as small_numerator,
        denominator between 1 and 7 as small_denominator
    from exact
)

select
    kpi_code,
    area_code,
    period_start,
    period_end,
    period_type,
    case when small_numerator or small_denominator then null else numerator end as numerator,
    case when small_denominator then null else denominator end as denominator,
    case
        when small_numerator or small_denominator then null
        when unit = 'count' and value between 1 and 7 then null
        else value
    end as value,
    unit,
    target,
    case when small_numerator or small_denominator or (unit = 'count' and value between 1 and 7) then null else rag end
        as rag,
    provenance,
    source,
    coalesce(small_numerator or small_denominator or (unit = 'count' and value between 1 and 7), false)
        as is_suppressed,
    refreshed_at,
    run_id
from flagged
