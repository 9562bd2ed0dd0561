-- A table, not a view: month-end states fan out plans x months and feed several tests and marts.
{{ config(materialized='table') }}

-- Every plan in force on the last day of each month the feed covers, with what the month-end KPIs
-- need: the young person's school year and age then (from the birth month, see the macros), the
-- latest annual review held by then and whether it covered PfA, and (academic age 16-17, school
-- years 12-13) the latest post-16 activity confirmed by then.
with spans as (
    select * from {{ ref('int_ehcp_plan_spans') }}
),

reviews as (
    select * from {{ ref('stg_la_case_management__annual_reviews') }}
),

activities as (
    select * from {{ ref('stg_la_case_management__post16_activities') }}
),

month_ends as (
    select
        area_code,
        period_start,
        (period_start + interval 1 month - interval 1 day)::date as period_end
    from {{ ref('int_feed_periods__la_case_management') }}
),

in_force as (
    select
        month_ends.area_code,
        month_ends.period_start,
        month_ends.period_end,
        spans.named_plan_id,
        spans.active_plan_id,
        spans.person_key,
        spans.birth_month,
        {{ la_case_management_school_year('spans.birth_month', 'month_ends.period_end') }} as school_year,
        {{ la_case_management_age_at_month_end('spans.birth_month', 'month_ends.period_start') }} as age
    from month_ends
    inner join spans
        on
            month_ends.area_code = spans.area_code
            and month_ends.period_end >= spans.start_date
            and (spans.ceased_date is null or month_ends.period_end < spans.ceased_date)
),

latest_reviews as (
    select
        in_force.area_code,
        in_force.period_start,
        in_force.named_plan_id,
        reviews.review_id as latest_review_id,
        reviews.pfa_covered as latest_review_pfa_covered
    from in_force
    inner join reviews
        on
            in_force.area_code = reviews.area_code
            and in_force.active_plan_id = reviews.active_plan_id
            and in_force.period_end >= reviews.meeting_date
    qualify row_number() over (
        partition by in_force.area_code, in_force.period_start, in_force.named_plan_id
        order by reviews.meeting_date desc, reviews.review_id desc
    ) = 1
),

latest_activities as (
    select
        in_force.area_code,
        in_force.period_start,
        in_force.named_plan_id,
        activities.activity_status as latest_activity_status
    from in_force
    inner join activities
        on
            in_force.area_code = activities.area_code
            and in_force.person_key = activities.person_key
            and in_force.period_end >= activities.activity_date
    where in_force.school_year between 12 and 13
    qualify row_number() over (
        partition by in_force.area_code, in_force.period_start, in_force.named_plan_id
        order by activities.activity_date desc, activities.activity_id desc
    ) = 1
)

select
    in_force.*,
    latest_reviews.latest_review_id,
    latest_reviews.latest_review_pfa_covered,
    latest_activities.latest_activity_status
from in_force
left join latest_reviews
    on
        in_force.area_code = latest_reviews.area_code
        and in_force.period_start = latest_reviews.period_start
        and in_force.named_plan_id = latest_reviews.named_plan_id
left join latest_activities
    on
        in_force.area_code = latest_activities.area_code
        and in_force.period_start = latest_activities.period_start
        and in_force.named_plan_id = latest_activities.named_plan_id
