-- Children and young people known to the SEND service, pseudonymised: the keyed hash of the LA
-- person id only (no NHS number, UPN or ULN hashes), birth month and postcode district.
select
    area_code::varchar as area_code,
    person_key::varchar as person_key,
    sex::varchar as sex,
    birth_month::date as birth_month,
    postcode_district::varchar as postcode_district
from {{ ref('stg_la_case_management__persons') }}
