-- Months the person-level ND feed covers per LA and pathway, as the KPIs of that pathway (ND_<pathway>_*
-- computed from icb_nd_referrals). A month counts only when it is complete for the pathway: every
-- provider serving the LA's pathway that month sent its month (a snapshot, or the waiting list of an
-- aggregate-only provider, whose children are added to the waiting KPIs), and at least one of them
-- sends person-level snapshots: a pathway served only by aggregate-only providers has no person-level
-- figures (its KPIs fall back), never a true zero.
with covered as (
    select
        area_code,
        pathway,
        period_start
    from {{ ref('int_nd_provider_months') }}
    group by area_code, pathway, period_start
    having
        bool_and(case when ever_sent_person_level then has_person_level else has_aggregate end)
        and bool_or(ever_sent_person_level and has_person_level)
)

select
    catalogue.kpi_code,
    covered.area_code,
    covered.period_start
from covered
inner join {{ ref('kpi_definitions') }} as catalogue
    on
        catalogue.computing_feed = 'icb_nd_referrals'
        and starts_with(catalogue.kpi_code, 'ND_' || covered.pathway || '_')
