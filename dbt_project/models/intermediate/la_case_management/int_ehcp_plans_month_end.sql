-- Every plan in force on the last day of each month the feed covers, with what the month-end KPIs
-- need: the young person's school year and age then (from the birth month, see the macros), the
-- latest annual review held by then and whether it covered PfA, and (academic age 16-17, school
-- years 12-13) the latest post-16 activity confirmed by then.
--
-- Shaped for size (40 M rows at national scale): each plan span is first cut where a review is held,
-- so one range join fans the pieces out to month ends with their latest review already attached.
-- Joining every month end to every earlier review and keeping the newest took 199 s of a 330 s
-- national build; a per-row as-of join spilled its 40 M wide rows to disk. Activities likewise are
-- intervals from one to the next.
--
-- Incremental: a daily run recomputes only the plans whose inputs changed (int_ehcp_plan_fingerprints)
-- and, for every plan, the months not built yet. Before it, the pre-hook deletes the rows of plans
-- whose fingerprint changed or vanished and of months no longer covered (a rerun of an earlier date),
-- so what stays was computed from the same inputs; a full refresh gives the same rows (tested in
-- tests/integration/test_backfill.py) but for built_at, the start of the build that wrote each
-- row, by which its primary-key test checks only the keys written since the last complete build.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ forget_changed_rows(ref('int_ehcp_plan_fingerprints'), 'named_plan_id', 'plan_fingerprint', ref('int_feed_periods__la_case_management')) }}",
) }}
with
{%- if is_incremental() %}
built_months as (
    select distinct area_code, period_start from {{ this }}
),

built_plans as (
    select distinct area_code, named_plan_id from {{ this }}
),
{%- endif %}

-- A month is new when no row has it yet; a plan is changed when none of its rows is left.
month_ends as (
    select
        month_ends.*,
        {% if is_incremental() -%}
            not exists (
                select 1
                from built_months as built
                where
                    built.area_code = month_ends.area_code
                    and built.period_start = month_ends.period_start
            )
        {%- else %}true{% endif %} as is_new_month
    from ({{ month_ends(ref('int_feed_periods__la_case_management')) }}) as month_ends
),

plans as (
    select
        fingerprints.*,
        {% if is_incremental() -%}
            not exists (
                select 1
                from built_plans as built
                where
                    built.area_code = fingerprints.area_code
                    and built.named_plan_id = fingerprints.named_plan_id
            )
        {%- else %}true{% endif %} as is_changed
    from {{ ref('int_ehcp_plan_fingerprints') }} as fingerprints
),

-- Changed plans in every month; the others only where their area has a new month.
spans as (
    select
        spans.*,
        plans.plan_fingerprint,
        plans.is_changed
    from {{ ref('int_ehcp_plan_spans') }} as spans
    inner join plans
        on
            spans.area_code = plans.area_code
            and spans.named_plan_id = plans.named_plan_id
    where
        plans.is_changed
        or spans.area_code in (
            select month_ends.area_code
            from month_ends
            where month_ends.is_new_month
        )
),

reviews as (
    select reviews.*
    from {{ ref('stg_la_case_management__annual_reviews') }} as reviews
    {%- if is_incremental() %}
        semi join spans
            on
                reviews.area_code = spans.area_code
                and reviews.active_plan_id = spans.active_plan_id
    {%- endif %}
),

activities as (
    select activities.*
    from {{ ref('stg_la_case_management__post16_activities') }} as activities
    {%- if is_incremental() %}
        semi join spans
            on
                activities.area_code = spans.area_code
                and activities.person_key = spans.person_key
    {%- endif %}
),

-- The newest review per plan and day (ties to the higher id), plus a "no review yet" point before
-- any date for every plan, so each plan's timeline is covered from the start.
review_points as (
    select
        area_code,
        active_plan_id,
        meeting_date,
        review_id,
        pfa_covered
    from reviews
    where meeting_date is not null and active_plan_id is not null
    qualify
        row_number() over (
            partition by area_code, active_plan_id, meeting_date order by review_id desc
        ) = 1

    union all

    select distinct
        area_code,
        active_plan_id,
        date '0001-01-01' as meeting_date,
        null as review_id,
        null as pfa_covered
    from spans
),

-- From one meeting to the next, the latest review is the same.
review_intervals as (
    select
        area_code,
        active_plan_id,
        review_id,
        pfa_covered,
        meeting_date as valid_from,
        lead(meeting_date) over (partition by area_code, active_plan_id order by meeting_date) as valid_to
    from review_points
),

plan_pieces as (
    select
        spans.area_code,
        spans.named_plan_id,
        spans.active_plan_id,
        spans.person_key,
        spans.birth_month,
        greatest(spans.start_date, intervals.valid_from) as piece_start,
        spans.ceased_date,
        intervals.valid_to,
        intervals.review_id,
        intervals.pfa_covered,
        spans.plan_fingerprint,
        spans.is_changed
    from spans
    inner join review_intervals as intervals
        on
            spans.area_code = intervals.area_code
            and spans.active_plan_id is not distinct from intervals.active_plan_id
    where
        (spans.ceased_date is null or intervals.valid_from < spans.ceased_date)
        and (intervals.valid_to is null or intervals.valid_to > spans.start_date)
),

in_force as (
    select
        month_ends.area_code,
        month_ends.period_start,
        month_ends.period_end,
        pieces.named_plan_id,
        pieces.active_plan_id,
        pieces.person_key,
        pieces.birth_month,
        {{ la_case_management_school_year('pieces.birth_month', 'month_ends.period_end') }} as school_year,
        {{ la_case_management_age_at_month_end('pieces.birth_month', 'month_ends.period_start') }} as age,
        pieces.review_id as latest_review_id,
        pieces.pfa_covered as latest_review_pfa_covered,
        pieces.plan_fingerprint,
        -- Which build wrote the row: its primary-key test checks keys written since the last complete build.
        '{{ run_started_at.isoformat() }}'::timestamptz as built_at
    from month_ends
    inner join plan_pieces as pieces
        on
            month_ends.area_code = pieces.area_code
            and (pieces.is_changed or month_ends.is_new_month)
            and month_ends.period_end >= pieces.piece_start
            and (pieces.ceased_date is null or month_ends.period_end < pieces.ceased_date)
            and (pieces.valid_to is null or month_ends.period_end < pieces.valid_to)
),

-- The newest activity per person and day (ties to the higher id), valid until the next one.
activity_points as (
    select
        area_code,
        person_key,
        activity_date,
        activity_status
    from activities
    where activity_date is not null
    qualify row_number() over (
        partition by area_code, person_key, activity_date order by activity_id desc
    ) = 1
),

activity_intervals as (
    select
        area_code,
        person_key,
        activity_status,
        activity_date as valid_from,
        lead(activity_date) over (partition by area_code, person_key order by activity_date) as valid_to
    from activity_points
)

-- Post-16 activity matters in school years 12-13 only (one row in ten): only those rows look it up.
-- (An equi-join on the person with a range condition: DuckDB planned an as-of join here as a nested
-- loop at lancashire size, 8 s.)
select
    *,
    null::varchar as latest_activity_status
from in_force
where not coalesce(school_year between 12 and 13, false)

union all

select
    in_force.*,
    activities.activity_status as latest_activity_status
from in_force
left join activity_intervals as activities
    on
        in_force.area_code = activities.area_code
        and in_force.person_key = activities.person_key
        and in_force.period_end >= activities.valid_from
        and (activities.valid_to is null or in_force.period_end < activities.valid_to)
where in_force.school_year between 12 and 13
