-- One row per named plan with a fingerprint of everything its month-end rows are computed from:
-- the plan's span and young person, the meetings of its active plan, the person's post-16
-- activities, and the code that turns them into month ends (int_ehcp_plans_month_end and the macros
-- it calls, so a change to that code recomputes every plan). int_ehcp_plans_month_end recomputes
-- only plans whose fingerprint changed since it was last built (and every plan for new months).
-- hash() is DuckDB's 64-bit hash (a different DuckDB may hash differently, which only recomputes); a
-- plan's meetings and activities are combined by XOR of their rows' hashes, in any order (each row has
-- its own id, so no two cancel out): a sorted list per plan took 4 s at national, XOR 0.4 s.
with spans as (
    select * from {{ ref('int_ehcp_plan_spans') }}
),

meetings as (
    select
        area_code,
        active_plan_id,
        bit_xor(hash(meeting_date, review_id, pfa_covered)) as meetings
    from {{ ref('stg_la_case_management__annual_reviews') }}
    where meeting_date is not null and active_plan_id is not null
    group by area_code, active_plan_id
),

activities as (
    select
        area_code,
        person_key,
        bit_xor(hash(activity_date, activity_id, activity_status)) as activities
    from {{ ref('stg_la_case_management__post16_activities') }}
    where activity_date is not null
    group by area_code, person_key
)

select
    spans.area_code,
    spans.named_plan_id,
    hash(
        '{{ local_md5(model_logic('int_ehcp_plans_month_end')) }}',
        spans.active_plan_id,
        spans.person_key,
        spans.birth_month,
        spans.start_date,
        spans.ceased_date,
        meetings.meetings,
        activities.activities
    ) as plan_fingerprint
from spans
left join meetings
    on
        spans.area_code = meetings.area_code
        and spans.active_plan_id = meetings.active_plan_id
left join activities
    on
        spans.area_code = activities.area_code
        and spans.person_key = activities.person_key
