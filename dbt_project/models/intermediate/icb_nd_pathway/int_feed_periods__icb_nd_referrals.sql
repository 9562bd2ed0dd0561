-- Months the person-level ND feed covers per LA. An LA is often served by several providers (in the
-- synthetic Lancashire: four send person-level snapshots, RW5 aggregates only), so a month counts only
-- when it is complete: every provider that ever sent person-level data for the LA sent that month's
-- snapshot, and every aggregate-only provider of the LA sent that month's waiting list (its children
-- are added to the waiting KPIs). A missing provider file sends the whole month to the fallback.
select
    area_code,
    period_start
from {{ ref('int_nd_provider_months') }}
group by area_code, period_start
having
    bool_and(case when ever_sent_person_level then has_person_level else has_aggregate end)
    and bool_or(has_person_level)
