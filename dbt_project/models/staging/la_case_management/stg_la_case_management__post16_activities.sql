-- Current state of each recorded post-16 activity (EET / NEET / not known) of a young person.
select
    area_code,
    p16a_activity_id as activity_id,
    p16a_person_id_hash as person_key,
    p16a_activity_date as activity_date,
    p16a_status as activity_status,
    p16a_activity as activity,
    last_modified_at
from ({{ la_case_management_newest('send_post16_activity', 'p16a_activity_id') }})
