-- The areas KPIs are reported for: each LA the platform serves (those with an LA case-management
-- feed) and each of its localities (seed area_localities), with the LA it belongs to.
with las as (
    select distinct area_code from {{ ref('int_feed_periods__la_case_management') }}
),

localities as (
    select distinct
        la_code,
        locality_code
    from {{ ref('area_localities') }}
)

select
    area_code,
    'la' as area_type,
    area_code as la_code
from las
union all
select
    localities.locality_code as area_code,
    'locality' as area_type,
    localities.la_code
from localities
inner join las on localities.la_code = las.area_code
