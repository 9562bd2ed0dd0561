-- Newest extracted version of each EHC needs assessment.
select
    area_code,
    ehca_ehcp_assessment_id as assessment_id,
    ehca_ehcp_request_id as request_id,
    ehca_ehcp_assessment_outcome as assessment_outcome,
    ehca_ehcp_assessment_outcome_date as outcome_date,
    coalesce(ehca_ehcp_assessment_exceptions = '1', false) as has_20_week_exception,
    last_modified_at
from {{ source('la_case_management', 'ssd_ehcp_assessment') }}
qualify
    row_number() over (partition by area_code, ehca_ehcp_assessment_id order by last_modified_at desc, _loaded_at desc)
    = 1
