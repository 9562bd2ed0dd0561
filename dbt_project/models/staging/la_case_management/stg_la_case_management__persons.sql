-- Newest extracted version of each person.
select
    area_code,
    pers_person_id_hash as person_key,
    pers_common_child_id_hash as nhs_number_hash,
    pers_sex as sex,
    pers_dob as birth_month,
    pers_postcode as postcode_district,
    last_modified_at
from {{ source('la_case_management', 'ssd_person') }}
qualify
    row_number() over (partition by area_code, pers_person_id_hash order by last_modified_at desc, _loaded_at desc) = 1
