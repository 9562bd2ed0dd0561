-- Each child's locality (seed area_localities), from the postcode district of their current address:
-- where the LA KPIs place their cases. A child without a known district, or with one outside the
-- LA's localities, counts in the LA's own figures only.
select
    persons.area_code,
    persons.person_key,
    localities.locality_code
from {{ ref('stg_la_case_management__persons') }} as persons
inner join {{ ref('area_localities') }} as localities
    on
        persons.area_code = localities.la_code
        and persons.postcode_district = localities.postcode_district
