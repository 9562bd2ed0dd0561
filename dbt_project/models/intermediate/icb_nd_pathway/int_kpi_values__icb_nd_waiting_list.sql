-- The aggregate stand-in for the ND waiting KPIs (ND_*_WAITING, _WAITING_13WK, _WAITING_52WK,
-- _SUPPORT_WHILE_WAITING) per LA and month, summed over providers and age bands from the wait bands:
-- bands 13-18 and above are over 13 weeks, 52-104 and above over 52 weeks (see the yml for how the
-- band edges meet the 91 / 364-day thresholds). Used only where every provider of the LA sent a list.
with waiting as (
    select
        area_code,
        pathway,
        period_start,
        sum(waiting) as waiting,
        sum(waiting_over_13_weeks) as waiting_over_13_weeks,
        sum(waiting_over_52_weeks) as waiting_over_52_weeks,
        sum(waiting_with_support) as waiting_with_support
    from {{ ref('int_nd_waiting_snapshots') }}
    where data_source = 'aggregate' and pathway in ('ASD', 'ADHD')
    group by all
),

long as (
    select
        'ND_' || pathway || '_WAITING' as kpi_code,
        area_code,
        period_start,
        waiting as numerator,
        null as denominator
    from waiting
    union all
    select
        'ND_' || pathway || '_WAITING_13WK' as kpi_code,
        area_code,
        period_start,
        waiting_over_13_weeks as numerator,
        null as denominator
    from waiting
    union all
    select
        'ND_' || pathway || '_WAITING_52WK' as kpi_code,
        area_code,
        period_start,
        waiting_over_52_weeks as numerator,
        null as denominator
    from waiting
    union all
    select
        'ND_' || pathway || '_SUPPORT_WHILE_WAITING' as kpi_code,
        area_code,
        period_start,
        waiting_with_support as numerator,
        waiting as denominator
    from waiting
)

select
    kpi_code::varchar as kpi_code,
    area_code::varchar as area_code,
    period_start::date as period_start,
    numerator::bigint as numerator,
    denominator::bigint as denominator,
    null::double as value
from long
