-- Current state of each EHC needs assessment. The SEN2 exception flag is kept as recorded; the
-- intermediate clock also counts an assessment with a row in send_assessment_exceptions.
select
    area_code,
    ehca_ehcp_assessment_id as assessment_id,
    ehca_ehcp_request_id as request_id,
    ehca_ehcp_assessment_outcome as assessment_outcome,
    ehca_ehcp_assessment_outcome_date as outcome_date,
    coalesce(ehca_ehcp_assessment_exceptions = '1', false) as has_20_week_exception,
    last_modified_at
from ({{ la_case_management_newest('ssd_ehcp_assessment', 'ehca_ehcp_assessment_id') }})
