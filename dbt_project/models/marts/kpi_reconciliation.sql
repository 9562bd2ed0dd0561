-- Where a feed and a validated manual scorecard both hold a KPI for the same area and month (typically
-- the months a blocked feed was covered by hand, once it returns): both values and the difference.
-- kpi_values shows the feed's value; this table shows what the board saw before.
{{ config(tags=['every_run']) }}
with candidates as (
    select * from {{ ref('int_kpi_candidates') }}
),

automated as (
    select * from candidates
    where provenance in ('feed', 'aggregate_feed')
    qualify row_number() over (partition by kpi_code, area_code, period_start order by rank) = 1
),

manual_scorecard as (
    select * from candidates
    where feed_source = 'manual_scorecard'
)

select
    automated.kpi_code::varchar as kpi_code,
    automated.area_code::varchar as area_code,
    automated.period_start::date as period_start,
    automated.provenance::varchar as feed_provenance,
    automated.feed_source::varchar as feed_source,
    automated.numerator::bigint as feed_numerator,
    automated.denominator::bigint as feed_denominator,
    automated.value::double as feed_value,
    manual_scorecard.numerator::bigint as manual_numerator,
    manual_scorecard.denominator::bigint as manual_denominator,
    manual_scorecard.value::double as manual_value,
    (automated.value - manual_scorecard.value)::double as value_difference,
    (automated.numerator - manual_scorecard.numerator)::bigint as numerator_difference,
    '{{ pipeline_run_id() }}'::varchar as run_id
from automated
inner join manual_scorecard
    on
        automated.kpi_code = manual_scorecard.kpi_code
        and automated.area_code = manual_scorecard.area_code
        and automated.period_start = manual_scorecard.period_start
where automated.period_start < date '{{ as_of_date() }}'
