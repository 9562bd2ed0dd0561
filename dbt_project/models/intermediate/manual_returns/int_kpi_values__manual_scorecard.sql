-- Validated manual scorecard rows, the fallback after the automated feeds: the latest version per KPI,
-- area and month (staging keeps the newest file version and row). A row is used only when its KPI is
-- in the catalogue with manual_allowed, its period parses, a submitter is named, numerator and
-- denominator are not negative, the numerator does not exceed the denominator and a percent value lies
-- in 0-100. Numerator, denominator and value are as submitted (counts rounded to whole numbers).
with scorecard as (
    select * from {{ ref('stg_manual_returns__kpi_scorecard_rows') }}
),

catalogue as (
    select * from {{ ref('kpi_definitions') }}
)

select
    scorecard.kpi_code::varchar as kpi_code,
    scorecard.area_code::varchar as area_code,
    scorecard.period_start::date as period_start,
    round(scorecard.numerator)::bigint as numerator,
    round(scorecard.denominator)::bigint as denominator,
    scorecard.value::double as value
from scorecard
inner join catalogue on scorecard.kpi_code = catalogue.kpi_code
where
    catalogue.manual_allowed
    and scorecard.period_start is not null
    and scorecard.area_code is not null
    and scorecard.submitted_by is not null
    and coalesce(scorecard.numerator >= 0, true)
    and coalesce(scorecard.denominator >= 0, true)
    and coalesce(scorecard.numerator <= scorecard.denominator, true)
    and (catalogue.unit != 'percent' or coalesce(scorecard.value between 0 and 100, true))
