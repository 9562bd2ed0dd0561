-- One row per named plan with a fingerprint of everything its int_annual_reviews_due rows are computed
-- from: the plan's span (start, cease, active plan, young person), the review meetings held for it
-- (int_annual_reviews_timed: each meeting with the due date it answered), the start of its area's
-- review history (its first meeting held: a plan older than it is judged from there), and the code of
-- int_annual_reviews_due and its macros. int_annual_reviews_due recomputes only the plans whose
-- fingerprint changed since it was last built. Meetings are combined by XOR of their rows' hashes, as
-- in int_ehcp_plan_fingerprints.
with meetings as (
    select * from {{ ref('int_annual_reviews_timed') }}
    where meeting_date is not null
),

history_starts as (
    select
        area_code,
        min(meeting_date) as first_meeting_date
    from meetings
    group by area_code
),

held as (
    select
        area_code,
        named_plan_id,
        bit_xor(hash(review_id, meeting_date, previous_meeting_date, statutory_due_date)) as meetings
    from meetings
    where named_plan_id is not null
    group by area_code, named_plan_id
)

select
    spans.area_code,
    spans.named_plan_id,
    hash(
        '{{ local_md5(model_logic('int_annual_reviews_due')) }}',
        spans.active_plan_id,
        spans.person_key,
        spans.start_date,
        spans.ceased_date,
        history_starts.first_meeting_date,
        held.meetings
    ) as review_fingerprint
from {{ ref('int_ehcp_plan_spans') }} as spans
left join history_starts
    on spans.area_code = history_starts.area_code
left join held
    on
        spans.area_code = held.area_code
        and spans.named_plan_id = held.named_plan_id
