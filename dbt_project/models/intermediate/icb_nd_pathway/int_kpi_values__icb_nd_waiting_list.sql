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
    {{ icb_nd_pathway_waiting_kpis('waiting') }}
)

select {{ kpi_value_columns() }}
from long
