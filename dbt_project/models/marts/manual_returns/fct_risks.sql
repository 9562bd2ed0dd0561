-- The risk register per month: one row per risk as its monthly workbook rated it.
select
    period_start::date as period_start,
    risk_id::varchar as risk_id,
    title::varchar as title,
    priority_area::varchar as priority_area,
    owner::varchar as owner,
    likelihood::integer as likelihood,
    impact::integer as impact,
    current_score::integer as current_score,
    target_score::integer as target_score,
    (status = 'OPEN' and current_score > target_score)::boolean as is_above_target,
    target_date::date as target_date,
    status::varchar as status,
    last_reviewed::date as last_reviewed
from {{ ref('stg_manual_returns__risks') }}
