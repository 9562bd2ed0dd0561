-- Newest extracted version of each SEND record (person to UPN / ULN link).
select
    area_code,
    send_table_id as send_record_id,
    send_person_id_hash as person_key,
    send_upn_hash as upn_hash,
    send_uln_hash as uln_hash,
    last_modified_at
from {{ source('la_case_management', 'ssd_send') }}
qualify row_number() over (partition by area_code, send_table_id order by last_modified_at desc, _loaded_at desc) = 1
