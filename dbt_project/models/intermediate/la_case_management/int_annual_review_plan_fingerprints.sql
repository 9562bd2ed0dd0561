-- One row per area and active plan with a fingerprint of everything its int_annual_reviews_timed rows
-- are computed from: the plan's review rows, the named plan spans of that active plan (start, cease,
-- young person), the start of its area's review history (its first meeting held), and the code of
-- int_annual_reviews_timed and its macros. int_annual_reviews_timed recomputes only the active plans
-- whose fingerprint changed since it was last built. Rows are combined by XOR of their hashes, as in
-- int_ehcp_plan_fingerprints. Review rows without an active plan form one group with no key: its rows
-- never match a fingerprint, so they are recomputed each run (a few rows).
with reviews as (
    select * from {{ ref('stg_la_case_management__annual_reviews') }}
),

history_starts as (
    select
        area_code,
        min(meeting_date) as first_meeting_date
    from reviews
    group by area_code
),

plan_reviews as (
    select
        area_code,
        active_plan_id,
        bit_xor(hash(
            review_id, due_date, meeting_date, decision_date, review_outcome, pfa_covered,
            phase_transfer_due_date, phase_transfer_final_date
        )) as reviews
    from reviews
    group by area_code, active_plan_id
),

plan_spans as (
    select
        area_code,
        active_plan_id,
        bit_xor(hash(named_plan_id, person_key, birth_month, start_date, ceased_date)) as spans
    from {{ ref('int_ehcp_plan_spans') }}
    group by area_code, active_plan_id
)

select
    plan_reviews.area_code,
    plan_reviews.active_plan_id,
    hash(
        '{{ local_md5(model_logic('int_annual_reviews_timed')) }}',
        plan_reviews.reviews,
        plan_spans.spans,
        history_starts.first_meeting_date
    ) as timing_fingerprint
from plan_reviews
left join plan_spans
    on
        plan_reviews.area_code = plan_spans.area_code
        and plan_reviews.active_plan_id = plan_spans.active_plan_id
left join history_starts
    on plan_reviews.area_code = history_starts.area_code
