-- Months each tracker covers per area (`feed_source` as in int_kpi_values__manual_trackers): a month
-- with a milestone workbook, a risk register workbook, or a survey wave closing in it. The
-- partnership's own trackers carry no area code: their months count for every partnership area.
with partnership_tracker_months as (
    select distinct
        period_start,
        'pap_milestones' as feed_source
    from {{ ref('stg_manual_returns__pap_milestones') }}
    union all
    select distinct
        period_start,
        'risk_register' as feed_source
    from {{ ref('stg_manual_returns__risks') }}
)

select
    areas.area_code,
    tracker_months.period_start,
    tracker_months.feed_source
from partnership_tracker_months as tracker_months
cross join {{ ref('int_partnership_areas') }} as areas
union all
select distinct
    area_code,
    period_start,
    'survey_results' as feed_source
from {{ ref('stg_manual_returns__survey_results') }}
where area_code is not null and period_start is not null
