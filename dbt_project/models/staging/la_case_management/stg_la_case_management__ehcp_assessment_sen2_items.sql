-- The optional SEN2 items of each EHC needs assessment (contract 1.4.0): mediation and tribunal appeal
-- about the decision to issue a plan (items 3.3, 3.4) and about other appealable decisions, such as the
-- plan's content or setting (3.5, 3.6). Three-valued: true ("1"), false ("0"), null where the source
-- does not record them. Apart from stg_la_case_management__ehcp_assessments so that model keeps its
-- columns (and Soda contract).
select
    area_code,
    ehca_ehcp_assessment_id as assessment_id,
    case ehca_ehcp_assessment_mediation when '1' then true when '0' then false end as had_mediation,
    case ehca_ehcp_assessment_tribunal when '1' then true when '0' then false end as had_tribunal,
    case ehca_ehcp_assessment_other_mediation when '1' then true when '0' then false end as had_other_mediation,
    case ehca_ehcp_assessment_other_tribunal when '1' then true when '0' then false end as had_other_tribunal
from ({{ la_case_management_newest('ssd_ehcp_assessment', 'ehca_ehcp_assessment_id') }})
