-- Areas in scope and the first month each feed holds data for them.
select
    area_code,
    'la_case_management' as feed,
    date_trunc('month', min(received_date))::date as first_period_start
from {{ ref('stg_la_case_management__ehcp_requests') }}
group by area_code
