-- Every annual review that falls due, held or not (Children and Families Act 2014 s.44(1), SEND
-- Regs 2014 reg. 18): the first at the end of the period of 12 months starting with the plan's start,
-- each next at the end of the period starting with the previous review meeting actually held
-- (macros/statutory_periods.sql). A review not held stays due: no later due date is invented until a
-- meeting is held. Only a plan in force on the due date owes the review: one ceased on or before it
-- owes it no more.
-- Plans that started before the area's review history begins (its first meeting held here): the
-- recorded due date of the plan's first review row stands in for its first due date; a plan with no
-- review row at all is due at the end of the first of its successive 12-month periods from its start
-- that ends on or after the history's start (earlier ones fell before the history and cannot be
-- judged; later ones are not invented while that one is not held).
--
-- Incremental: a daily run recomputes only the plans whose inputs changed (int_annual_review_fingerprints:
-- span, meetings held, the area's history start, this code). Before it, the pre-hook deletes the rows
-- of plans whose fingerprint changed or vanished; plans with no row left are computed (a plan that owes
-- no review has none, and is computed again each run: a few rows). A full refresh gives the same rows
-- (tests/integration/test_backfill.py).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ forget_changed_rows(ref('int_annual_review_fingerprints'), 'named_plan_id', 'review_fingerprint') }}",
) }}
with plans_to_build as (
    {{ keys_to_build(ref('int_annual_review_fingerprints'), 'named_plan_id') }}
),

all_reviews as (
    select * from {{ ref('int_annual_reviews_timed') }}
    where meeting_date is not null
),

reviews as (
    select all_reviews.*
    from all_reviews
    semi join plans_to_build
        on
            all_reviews.area_code = plans_to_build.area_code
            and all_reviews.named_plan_id = plans_to_build.named_plan_id
),

spans as (
    select
        spans.*,
        plans_to_build.review_fingerprint
    from {{ ref('int_ehcp_plan_spans') }} as spans
    inner join plans_to_build
        on
            spans.area_code = plans_to_build.area_code
            and spans.named_plan_id = plans_to_build.named_plan_id
    where spans.start_date is not null
),

-- Over every area's meetings, not only the plans computed: a plan older than the history is judged
-- from the area's first meeting.
history_starts as (
    select
        area_code,
        min(meeting_date) as first_meeting_date
    from all_reviews
    group by area_code
),

-- For a plan older than the history: the n-th 12-month period from its start is the first ending on
-- or after the history's start, n being the whole years of months between them or one more.
plans as (
    select
        spans.*,
        history_starts.first_meeting_date as history_start_date,
        datediff('month', spans.start_date, history_starts.first_meeting_date) // 12 as whole_years,
        {{ period_end_starting_with('spans.start_date', '12 * greatest(1, whole_years)') }} as nth_period_end
    from spans
    left join history_starts
        on spans.area_code = history_starts.area_code
),

-- Reviews held, one per plan and meeting day (a second row on the same day is the same meeting), each
-- with the due date it answered.
held as (
    select
        area_code,
        named_plan_id,
        review_id,
        previous_meeting_date,
        statutory_due_date as due_date,
        meeting_date
    from reviews
    where named_plan_id is not null
    qualify row_number() over (partition by area_code, named_plan_id, meeting_date order by review_id) = 1
),

last_held as (
    select
        area_code,
        named_plan_id,
        max(meeting_date) as last_meeting_date
    from held
    group by area_code, named_plan_id
),

-- The review after the last meeting held (the plan's first when none is held): due, not held.
next_due as (
    select
        plans.area_code,
        plans.named_plan_id,
        null::varchar as review_id,
        last_held.last_meeting_date as previous_meeting_date,
        case
            when last_held.last_meeting_date is not null
                then {{ period_end_starting_with('last_held.last_meeting_date') }}
            when plans.history_start_date is null or plans.start_date >= plans.history_start_date
                then {{ period_end_starting_with('plans.start_date') }}
            when plans.nth_period_end >= plans.history_start_date then plans.nth_period_end
            else {{ period_end_starting_with('plans.start_date', '12 * (plans.whole_years + 1)') }}
        end as due_date,
        null::date as meeting_date
    from plans
    left join last_held
        on
            plans.area_code = last_held.area_code
            and plans.named_plan_id = last_held.named_plan_id
),

due as (
    select * from held
    union all
    select * from next_due
)

select
    due.area_code,
    due.named_plan_id,
    spans.active_plan_id,
    spans.person_key,
    row_number() over (
        partition by due.area_code, due.named_plan_id order by due.meeting_date nulls last
    ) as review_number,
    due.review_id,
    due.previous_meeting_date,
    due.due_date,
    due.meeting_date,
    coalesce(due.meeting_date <= due.due_date, false) as held_by_due_date,
    spans.start_date as plan_start_date,
    spans.ceased_date as plan_ceased_date,
    spans.review_fingerprint
from due
inner join spans
    on
        due.area_code = spans.area_code
        and due.named_plan_id = spans.named_plan_id
where
    spans.start_date <= due.due_date
    and (spans.ceased_date is null or spans.ceased_date > due.due_date)
