-- Each catalogue KPI that has a DfE counterpart (seed kpi_benchmark_measures) set beside it: per KPI, LA
-- and DfE period, the LA's published value, its region's, England's, its statistical neighbours' average,
-- its rank and quartile band (benchmark_ehcp), and the KPI's own figure for the same period in the DfE's
-- shape where the platform holds every month of it: the year's numerators over its denominators
-- (calendar_year_rate), its monthly counts summed (calendar_year_sum) or the January value (january_value,
-- the census month of an academic-year period).
with mapping as (
    select * from {{ ref('kpi_benchmark_measures') }}
),

benchmarks as (
    select * from {{ ref('benchmark_ehcp') }}
),

kpi_months as (
    select
        kpi_code,
        area_code,
        period_start,
        numerator,
        denominator,
        value
    from {{ ref('kpi_values') }}
    where period_type = 'month'
),

-- The KPI over each benchmark period, for the LAs the platform computes KPIs for.
kpi_periods as (
    select
        mapping.kpi_code,
        benchmarks.area_code,
        benchmarks.time_period,
        count(kpi_months.value) as months_with_value,
        count(*) filter (
            where kpi_months.numerator is not null and kpi_months.denominator is not null
        ) as months_with_rate,
        sum(kpi_months.value) as value_sum,
        sum(kpi_months.numerator) as numerator_sum,
        sum(kpi_months.denominator) as denominator_sum
    from mapping
    inner join benchmarks
        on mapping.measure = benchmarks.measure
    inner join kpi_months
        on
            mapping.kpi_code = kpi_months.kpi_code
            and benchmarks.area_code = kpi_months.area_code
            and (
                (
                    mapping.comparison = 'january_value'
                    and benchmarks.period_start = kpi_months.period_start
                )
                or (
                    mapping.comparison != 'january_value'
                    and benchmarks.period_start <= kpi_months.period_start
                    and kpi_months.period_start < benchmarks.period_start + interval 1 year
                )
            )
    group by mapping.kpi_code, benchmarks.area_code, benchmarks.time_period
)

select
    mapping.kpi_code::varchar as kpi_code,
    catalogue.kpi_name::varchar as kpi_name,
    benchmarks.measure::varchar as measure,
    benchmarks.measure_label::varchar as measure_label,
    benchmarks.unit::varchar as unit,
    benchmarks.direction::varchar as direction,
    mapping.comparison::varchar as comparison,
    mapping.comparability::varchar as comparability,
    benchmarks.area_code::varchar as area_code,
    benchmarks.la_name::varchar as la_name,
    benchmarks.time_period::varchar as time_period,
    benchmarks.period_label::varchar as period_label,
    benchmarks.period_start::date as period_start,
    year(benchmarks.period_start)::integer as benchmark_year,
    benchmarks.la_value::double as la_value,
    benchmarks.region_code::varchar as region_code,
    benchmarks.region_name::varchar as region_name,
    benchmarks.region_value::double as region_value,
    benchmarks.england_value::double as england_value,
    benchmarks.neighbour_average::double as neighbour_average,
    benchmarks.neighbours_with_value::integer as neighbours_with_value,
    benchmarks.performance_rank::integer as performance_rank,
    benchmarks.las_ranked::integer as las_ranked,
    benchmarks.quartile_band::varchar as quartile_band,
    (case
        when
            mapping.comparison = 'calendar_year_rate'
            and kpi_periods.months_with_rate = 12
            and kpi_periods.denominator_sum > 0
            then 100.0 * kpi_periods.numerator_sum / kpi_periods.denominator_sum
        when mapping.comparison = 'calendar_year_sum' and kpi_periods.months_with_value = 12
            then kpi_periods.value_sum
        when mapping.comparison = 'january_value' and kpi_periods.months_with_value = 1
            then kpi_periods.value_sum
    end)::double as kpi_value,
    (case mapping.comparison
        when 'calendar_year_rate' then coalesce(kpi_periods.months_with_rate, 0)
        else coalesce(kpi_periods.months_with_value, 0)
    end)::integer as kpi_months_with_value
from mapping
inner join {{ ref('kpi_definitions') }} as catalogue
    on mapping.kpi_code = catalogue.kpi_code
inner join benchmarks
    on mapping.measure = benchmarks.measure
left join kpi_periods
    on
        mapping.kpi_code = kpi_periods.kpi_code
        and benchmarks.area_code = kpi_periods.area_code
        and benchmarks.time_period = kpi_periods.time_period
