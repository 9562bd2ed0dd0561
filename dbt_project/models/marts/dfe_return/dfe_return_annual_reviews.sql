-- The LA's annual reviews in the shape of the DfE release's annual_reviews.csv (its `All annual
-- reviews` row), one row per calendar year the data covers, taken on the census date closing the year
-- as SEN2 takes it: the plans in force that day (started on or before it, not ceased on or before it),
-- a review expected of those whose first review had fallen due by then (the 12 months starting with
-- the day the plan was made had ended: start + 12 months - 1 day on or before the census), and for each
-- of those its latest review meeting held by the census (SEN2 ReviewMeeting), in the year after the
-- reporting year (`_25`: 1 January to the census), the reporting year (`_24`) or before it
-- (`prior_24`); the decision on that review (LastReview) dated by the census in the same three
-- periods, else not yet due (on or before day 28 after the meeting, SEND Regulations 2014 reg. 20(10))
-- or outstanding; its outcome (ReviewOutcome A amend, C cease, M maintain; none while undecided); and
-- whether the decision came within 4 weeks (day 28, int_annual_reviews_timed). The column names keep
-- the release's years: `_25` / `_24` / `prior_24` mean the year after / the year / before the year of
-- `time_period`. `review_decision_outstanding` is counted, never derived, so it is never negative.
with periods as (
    {{ dfe_return_periods() }}
),

release_identity as (
    {{ dfe_return_release_identity() }}
),

plans as (
    select
        area_code,
        named_plan_id,
        active_plan_id,
        start_date,
        ceased_date
    from {{ ref('int_ehcp_plan_spans') }}
    where start_date is not null
),

reviews as (
    select
        area_code,
        review_id,
        active_plan_id,
        meeting_date,
        decision_date,
        review_outcome,
        days_to_decision
    from {{ ref('int_annual_reviews_timed') }}
    where meeting_date is not null
),

plans_at_census as (
    select
        periods.area_code,
        periods.calendar_year,
        periods.census_date,
        plans.named_plan_id,
        plans.active_plan_id,
        plans.start_date + interval 12 month - interval 1 day <= periods.census_date as review_expected
    from periods
    inner join plans
        on
            periods.area_code = plans.area_code
            and periods.census_date >= plans.start_date
            and (plans.ceased_date is null or periods.census_date < plans.ceased_date)
),

-- The newest review per plan and day (ties to the higher id), valid until the plan's next meeting: a
-- plan in force on a census date joins the one review whose span holds that date. (A join to every
-- earlier review keeping the newest took 6.8 s at national, this 3.9 s, the same rows; an as-of join
-- was planned as a nested loop at lancashire size, 29 s.)
reviews_by_day as (
    select *
    from reviews
    qualify
        row_number() over (partition by area_code, active_plan_id, meeting_date order by review_id desc) = 1
),

review_spans as (
    select
        *,
        lead(meeting_date) over (partition by area_code, active_plan_id order by meeting_date) as next_meeting_date
    from reviews_by_day
),

latest_review as (
    select
        plans_at_census.area_code,
        plans_at_census.calendar_year,
        plans_at_census.named_plan_id,
        reviews.meeting_date,
        case when reviews.decision_date <= plans_at_census.census_date then reviews.decision_date end
            as decision_date,
        case when reviews.decision_date <= plans_at_census.census_date then reviews.review_outcome end
            as review_outcome,
        case when reviews.decision_date <= plans_at_census.census_date then reviews.days_to_decision end
            as days_to_decision
    from plans_at_census
    inner join review_spans as reviews
        on
            plans_at_census.area_code = reviews.area_code
            and plans_at_census.active_plan_id = reviews.active_plan_id
            and plans_at_census.census_date >= reviews.meeting_date
            and (reviews.next_meeting_date is null or plans_at_census.census_date < reviews.next_meeting_date)
),

-- Each plan in force on the census date with its latest review as it stood that day.
taken as (
    select
        plans_at_census.area_code,
        plans_at_census.calendar_year,
        plans_at_census.review_expected,
        plans_at_census.review_expected and latest.meeting_date is not null as has_meeting,
        year(latest.meeting_date) - plans_at_census.calendar_year as meeting_year_offset,
        year(latest.decision_date) - plans_at_census.calendar_year as decision_year_offset,
        latest.decision_date is null
        and plans_at_census.census_date <= latest.meeting_date + interval 28 day as decision_not_due,
        latest.decision_date is null
        and plans_at_census.census_date > latest.meeting_date + interval 28 day as decision_outstanding,
        latest.review_outcome,
        latest.days_to_decision
    from plans_at_census
    left join latest_review as latest
        on
            plans_at_census.area_code = latest.area_code
            and plans_at_census.calendar_year = latest.calendar_year
            and plans_at_census.named_plan_id = latest.named_plan_id
),

counted as (
    select
        area_code,
        calendar_year,
        count(*) as total_ehc_plans,
        count(*) filter (where review_expected) as review_expected,
        count(*) filter (where not review_expected) as review_not_expected,
        count(*) filter (where has_meeting and meeting_year_offset > 0) as review_meeting_25,
        count(*) filter (where has_meeting and meeting_year_offset = 0) as review_meeting_24,
        count(*) filter (where has_meeting and meeting_year_offset < 0) as review_meeting_prior_24,
        count(*) filter (where has_meeting) as total_review_meeting,
        count(*) filter (where review_expected and not has_meeting) as no_review_meeting,
        count(*) filter (where has_meeting and decision_year_offset > 0) as review_decision25,
        count(*) filter (where has_meeting and decision_year_offset = 0) as review_decision24,
        count(*) filter (where has_meeting and decision_year_offset < 0) as review_decision_prior24,
        count(*) filter (where has_meeting and decision_not_due) as review_decision_not_due,
        count(*) filter (where has_meeting and decision_outstanding) as review_decision_outstanding,
        count(*) filter (where has_meeting and review_outcome = 'A') as outcome_amend,
        count(*) filter (where has_meeting and review_outcome = 'C') as outcome_cease,
        count(*) filter (where has_meeting and review_outcome = 'M') as outcome_maintan,
        count(*) filter (where has_meeting and review_outcome is null) as no_outcome,
        count(*) filter (where has_meeting and days_to_decision <= 28) as number_decsion_4weeks,
        count(*) filter (where has_meeting and days_to_decision > 28) as number_decision_gt_4weeks
    from taken
    group by area_code, calendar_year
)

select
    {{ dfe_return_leading_columns('annual_reviews') }},
    coalesce(c.total_ehc_plans, 0)::bigint as total_ehc_plans,
    coalesce(c.review_expected, 0)::bigint as review_expected,
    coalesce(c.review_not_expected, 0)::bigint as review_not_expected,
    coalesce(c.review_meeting_25, 0)::bigint as review_meeting_25,
    coalesce(c.review_meeting_24, 0)::bigint as review_meeting_24,
    coalesce(c.review_meeting_prior_24, 0)::bigint as review_meeting_prior_24,
    coalesce(c.total_review_meeting, 0)::bigint as total_review_meeting,
    coalesce(c.no_review_meeting, 0)::bigint as no_review_meeting,
    coalesce(c.review_decision25, 0)::bigint as review_decision25,
    coalesce(c.review_decision24, 0)::bigint as review_decision24,
    coalesce(c.review_decision_prior24, 0)::bigint as review_decision_prior24,
    coalesce(c.review_decision_not_due, 0)::bigint as review_decision_not_due,
    coalesce(c.review_decision_outstanding, 0)::bigint as review_decision_outstanding,
    coalesce(c.outcome_amend, 0)::bigint as outcome_amend,
    coalesce(c.outcome_cease, 0)::bigint as outcome_cease,
    coalesce(c.outcome_maintan, 0)::bigint as outcome_maintan,
    coalesce(c.no_outcome, 0)::bigint as no_outcome,
    coalesce(c.number_decsion_4weeks, 0)::bigint as number_decsion_4weeks,
    coalesce(c.number_decision_gt_4weeks, 0)::bigint as number_decision_gt_4weeks,
    {{ dfe_return_pc('c.number_decsion_4weeks', 'c.number_decsion_4weeks + c.number_decision_gt_4weeks') }}
        as pc_decsion_4weeks,
    {{ dfe_return_pc('c.number_decision_gt_4weeks', 'c.number_decsion_4weeks + c.number_decision_gt_4weeks') }}
        as pc_decision_gt_4weeks,
    {{ dfe_return_trailing_columns() }}
from periods as p
left join counted as c
    on
        p.area_code = c.area_code
        and p.calendar_year = c.calendar_year
left join release_identity as i
    on p.area_code = i.geography_code
