-- The 6-week decision clock (SEND Regulations 2014, reg. 5): from the date the request was received
-- to the decision whether to assess. Only decisions made (outcome Y or N with a date) are timed; A
-- (awaiting), W (withdrawn: no decision) and H (decided before the history held here) are not.
-- "Within 6 weeks" means on or before day 42.
with requests as (
    select * from {{ ref('stg_la_case_management__ehcp_requests') }}
),

send_records as (
    select * from {{ ref('stg_la_case_management__send_records') }}
)

select
    requests.area_code,
    requests.request_id,
    send_records.person_key,
    requests.received_date,
    requests.decision_outcome,
    requests.decision_outcome != 'H' as is_new_request,
    case when requests.decision_outcome in ('Y', 'N') then requests.decision_date end as decision_date,
    (requests.received_date + interval 42 day)::date as deadline_6_weeks,
    case
        when requests.decision_outcome in ('Y', 'N') and requests.decision_date is not null
            then datediff('day', requests.received_date, requests.decision_date)
    end as days_to_decision,
    days_to_decision <= 42 as decided_within_6_weeks
from requests
left join send_records
    on
        requests.area_code = send_records.area_code
        and requests.send_record_id = send_records.send_record_id
