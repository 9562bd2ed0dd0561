-- The clocks of each annual review held. Within 12 months (Children and Families Act 2014 s.44(1),
-- SEND Regs 2014 reg. 18): the review is due within the period of 12 months starting with the date
-- the plan was first made, then with the date of the previous review meeting; "starting with"
-- includes that day, so the last on-time day is the day before the corresponding date 12 months on
-- (macros/statutory_periods.sql). Same-day rows are one meeting: the previous meeting is the latest
-- one on an earlier day. Where the plan started before the area's review history begins, its first
-- review here is not its first, so the recorded due date stands in. Decision within 4 weeks (reg.
-- 20(10)): the decision letter on or before the deadline, day 28 after the meeting. Phase transfer
-- (reg. 18(1)): finalised on or before the recorded SEN2 PhaseTransferDueDate (15 February, or 31
-- March for the move to post-16); one not finalised counts as late in the month it was due.
--
-- Incremental: a daily run recomputes only the active plans whose inputs changed
-- (int_annual_review_plan_fingerprints: their review rows, their named plans' spans, the area's
-- history start, this code); the pre-hook first deletes the rows of active plans whose fingerprint
-- changed or vanished. A full refresh gives the same rows (tests/integration/test_backfill.py).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ forget_changed_rows(ref('int_annual_review_plan_fingerprints'), 'active_plan_id', 'timing_fingerprint') }}",
) }}
with plans_to_build as (
    {{ keys_to_build(ref('int_annual_review_plan_fingerprints'), 'active_plan_id') }}
),

all_reviews as (
    select * from {{ ref('stg_la_case_management__annual_reviews') }}
),

reviews as (
    select
        all_reviews.*,
        plans_to_build.timing_fingerprint
    from all_reviews
    inner join plans_to_build
        on
            all_reviews.area_code = plans_to_build.area_code
            and all_reviews.active_plan_id is not distinct from plans_to_build.active_plan_id
),

spans as (
    select * from {{ ref('int_ehcp_plan_spans') }}
),

-- Over every area's meetings, not only the plans computed.
history_starts as (
    select
        area_code,
        min(meeting_date) as first_meeting_date
    from all_reviews
    group by area_code
),

sequenced as (
    select
        reviews.*,
        max(reviews.meeting_date) over (
            partition by reviews.area_code, reviews.active_plan_id
            order by reviews.meeting_date
            range between unbounded preceding and interval 1 day preceding
        ) as previous_meeting_date
    from reviews
)

select
    sequenced.area_code,
    sequenced.review_id,
    sequenced.active_plan_id,
    spans.named_plan_id,
    spans.person_key,
    spans.birth_month,
    spans.start_date as plan_start_date,
    spans.ceased_date as plan_ceased_date,
    sequenced.due_date as recorded_due_date,
    sequenced.meeting_date,
    sequenced.decision_date,
    sequenced.review_outcome,
    sequenced.pfa_covered,
    sequenced.previous_meeting_date,
    case
        when sequenced.previous_meeting_date is not null
            then {{ period_end_starting_with('sequenced.previous_meeting_date') }}
        when spans.start_date >= history_starts.first_meeting_date
            then {{ period_end_starting_with('spans.start_date') }}
        else sequenced.due_date
    end as statutory_due_date,
    sequenced.meeting_date <= statutory_due_date as held_within_12_months,
    (sequenced.meeting_date + interval 28 day)::date as decision_deadline,
    datediff('day', sequenced.meeting_date, sequenced.decision_date) as days_to_decision,
    sequenced.decision_date <= decision_deadline as decided_within_4_weeks,
    sequenced.phase_transfer_due_date,
    sequenced.phase_transfer_final_date,
    case
        when sequenced.phase_transfer_due_date is not null
            then coalesce(sequenced.phase_transfer_final_date <= sequenced.phase_transfer_due_date, false)
    end as phase_transfer_on_time,
    sequenced.timing_fingerprint
from sequenced
left join spans
    on
        sequenced.area_code = spans.area_code
        and sequenced.active_plan_id = spans.active_plan_id
left join history_starts
    on sequenced.area_code = history_starts.area_code
