-- Current state of each person (pseudonymised). Date of birth arrives reduced to the first of its
-- month and the postcode to its district (ingestion), so nothing finer can be derived here.
select
    area_code,
    pers_person_id_hash as person_key,
    pers_common_child_id_hash as nhs_number_hash,
    pers_sex as sex,
    pers_dob as birth_month,
    pers_postcode as postcode_district,
    last_modified_at
from ({{ la_case_management_newest('ssd_person', 'pers_person_id_hash') }})
