-- The areas the partnership's own trackers (PAP milestone tracker, risk register) report for: the
-- tracker files carry no area code, so they count for every LA the platform serves (those with an LA
-- case-management feed; one LA in a usual deployment).
select distinct area_code
from {{ ref('int_feed_periods__la_case_management') }}
