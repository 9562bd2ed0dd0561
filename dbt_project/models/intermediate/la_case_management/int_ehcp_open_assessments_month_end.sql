-- A table, not a view: month-end states fan out plans x months and feed several tests and marts.
{{ config(materialized='table') }}

-- The backlog: assessments agreed (request outcome Y) and still without a plan decision on the last
-- day of each month the feed covers, with the days waiting since the request was received.
-- Open from the decision to assess (the received date when that is missing) until the assessment
-- outcome date (Y issued, N not issued, or W withdrawn when dated); an assessment still A is open to
-- date. A withdrawal without a date cannot be placed in time and is left out. An agreed request with
-- no assessment row is a data problem (the row is made with the decision; here it was deleted or
-- rejected at source), not a wait: left out, or it would sit in the backlog for ever. Historical (H)
-- rows never count.
with requests as (
    select * from {{ ref('int_ehcp_requests_timed') }}
    where decision_outcome = 'Y'
),

assessments as (
    select * from {{ ref('stg_la_case_management__ehcp_assessments') }}
),

agreed as (
    select
        requests.area_code,
        requests.request_id,
        requests.person_key,
        assessments.assessment_id,
        requests.received_date,
        coalesce(requests.decision_date, requests.received_date) as open_from,
        case when assessments.assessment_outcome in ('Y', 'N', 'W') then assessments.outcome_date end as closed_on
    from requests
    inner join assessments
        on
            requests.area_code = assessments.area_code
            and requests.request_id = assessments.request_id
    where
        assessments.assessment_outcome = 'A'
        or (assessments.assessment_outcome in ('Y', 'N', 'W') and assessments.outcome_date is not null)
),

month_ends as (
    {{ month_ends(ref('int_feed_periods__la_case_management')) }}
)

select
    month_ends.area_code,
    month_ends.period_start,
    month_ends.period_end,
    agreed.request_id,
    agreed.person_key,
    agreed.assessment_id,
    agreed.received_date,
    datediff('day', agreed.received_date, month_ends.period_end) as days_waiting,
    days_waiting > 140 as is_past_20_weeks
from month_ends
inner join agreed
    on
        month_ends.area_code = agreed.area_code
        and month_ends.period_end >= agreed.open_from
        and (agreed.closed_on is null or month_ends.period_end < agreed.closed_on)
