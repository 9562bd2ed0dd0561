-- The annual-review clocks. Held within 12 months (Children and Families Act 2014 s.44, SEND Regs
-- 2014 reg. 18): the meeting must be no later than 12 calendar months after the previous review
-- meeting of the plan, or after the plan's start for its first review. Where the first review in
-- the data is not the plan's first (the plan started before the area's review history begins) the
-- recorded due date stands in. Decision within 4 weeks (reg. 20(10)): the LA's decision letter on
-- or before day 28 after the meeting, measured in the month of the decision. Phase transfer (reg.
-- 18(1)): the plan finalised on or before the recorded SEN2 PhaseTransferDueDate (15 February, or
-- 31 March for the move to post-16); one not finalised counts as late in the month it was due.
with reviews as (
    select * from {{ ref('stg_la_case_management__annual_reviews') }}
),

spans as (
    select * from {{ ref('int_ehcp_plan_spans') }}
),

history_starts as (
    select
        area_code,
        min(meeting_date) as first_meeting_date
    from reviews
    group by area_code
),

sequenced as (
    select
        reviews.*,
        lag(reviews.meeting_date) over (
            partition by reviews.area_code, reviews.active_plan_id order by reviews.meeting_date, reviews.review_id
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
    sequenced.due_date as recorded_due_date,
    sequenced.meeting_date,
    sequenced.decision_date,
    sequenced.review_outcome,
    sequenced.pfa_covered,
    sequenced.previous_meeting_date,
    (case
        when sequenced.previous_meeting_date is not null then sequenced.previous_meeting_date + interval 12 month
        when spans.start_date >= history_starts.first_meeting_date then spans.start_date + interval 12 month
        else sequenced.due_date
    end)::date as statutory_due_date,
    sequenced.meeting_date <= statutory_due_date as held_within_12_months,
    datediff('day', sequenced.meeting_date, sequenced.decision_date) as days_to_decision,
    days_to_decision <= 28 as decided_within_4_weeks,
    sequenced.phase_transfer_due_date,
    sequenced.phase_transfer_final_date,
    case
        when sequenced.phase_transfer_due_date is not null
            then coalesce(sequenced.phase_transfer_final_date <= sequenced.phase_transfer_due_date, false)
    end as phase_transfer_on_time
from sequenced
left join spans
    on
        sequenced.area_code = spans.area_code
        and sequenced.active_plan_id = spans.active_plan_id
left join history_starts
    on sequenced.area_code = history_starts.area_code
