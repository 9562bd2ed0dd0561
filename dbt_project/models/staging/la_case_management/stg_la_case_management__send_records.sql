-- Current state of each SEND record (person to UPN / ULN link).
select
    area_code,
    send_table_id as send_record_id,
    send_person_id_hash as person_key,
    send_upn_hash as upn_hash,
    send_uln_hash as uln_hash,
    send_upn_unknown as upn_unknown_reason,
    last_modified_at
from ({{ la_case_management_newest('ssd_send', 'send_table_id') }})
