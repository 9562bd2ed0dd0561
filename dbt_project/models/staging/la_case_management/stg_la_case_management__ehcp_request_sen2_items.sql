-- The optional SEN2 items of each EHC needs-assessment request (contract 1.4.0): relevant youth
-- accommodation (RYA, item 2.3), mediation and tribunal appeal about the decision whether to assess
-- (2.6, 2.7). Three-valued: true ("1"), false ("0"), null where the source does not record them. Apart
-- from stg_la_case_management__ehcp_requests so that model keeps its columns (and Soda contract).
select
    area_code,
    ehcr_ehcp_request_id as request_id,
    case ehcr_ehcp_req_rya when '1' then true when '0' then false end as in_relevant_youth_accommodation,
    case ehcr_ehcp_req_mediation when '1' then true when '0' then false end as had_mediation,
    case ehcr_ehcp_req_tribunal when '1' then true when '0' then false end as had_tribunal
from ({{ la_case_management_newest('ssd_ehcp_requests', 'ehcr_ehcp_request_id') }})
