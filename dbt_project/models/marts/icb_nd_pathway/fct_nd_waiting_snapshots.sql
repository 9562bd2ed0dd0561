-- The ND waiting list at each month end per provider, pathway, LA and month, with `data_source` saying
-- whether it was counted from person-level snapshots or taken from an aggregate wait-band file.
select
    provider_ods_code::varchar as provider_ods_code,
    pathway::varchar as pathway,
    area_code::varchar as area_code,
    period_start::date as period_start,
    (period_start + interval 1 month - interval 1 day)::date as period_end,
    data_source::varchar as data_source,
    waiting::bigint as waiting,
    waiting_over_13_weeks::bigint as waiting_over_13_weeks,
    waiting_over_52_weeks::bigint as waiting_over_52_weeks,
    waiting_with_support::bigint as waiting_with_support,
    median_wait_weeks::double as median_wait_weeks
from {{ ref('int_nd_waiting_snapshots') }}
where area_code is not null
