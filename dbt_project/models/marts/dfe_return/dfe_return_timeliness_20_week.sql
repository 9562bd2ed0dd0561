-- The LA's new EHC plans in the shape of the DfE release's timeliness_20_week.csv (its `All EHC plans
-- issued` row), one row per calendar year the data covers: plans issued in the year (assessment
-- outcome Y with an issue date; historical H plans and plans moved in from another LA are not new),
-- timed by int_ehcp_assessments_timed from the request received to the issue date, the cases EHCP_20WK_ALL
-- counts. Bands as the DfE publishes them: within 20 weeks (up to day 140), over 20 weeks and up to 52
-- (days 141-364), over 52 weeks (day 365 on). `_ex`: exception cases (SEN2 Week20 flag or a recorded
-- permitted exception) left out of numerator and denominator alike. Percentages of the plans issued
-- (`_ex` of those without an exception).
with periods as (
    {{ dfe_return_periods() }}
),

release_identity as (
    {{ dfe_return_release_identity() }}
),

issued as (
    select
        area_code,
        plan_issued_date,
        days_to_issue,
        has_20_week_exception
    from {{ ref('int_ehcp_assessments_timed') }}
    where plan_issued_date is not null and days_to_issue is not null
),

counted as (
    select
        periods.area_code,
        periods.calendar_year,
        count(*) as plans_issued_den,
        count(*) filter (where not issued.has_20_week_exception) as plans_issued_den_ex,
        count(*) filter (where issued.days_to_issue <= 140) as plans_issued_within_20_weeks,
        count(*) filter (
            where issued.days_to_issue <= 140 and not issued.has_20_week_exception
        ) as plans_issued_20_weeks_ex,
        count(*) filter (where issued.days_to_issue between 141 and 364) as plans_issued_gt20weeks_ltyear,
        count(*) filter (
            where issued.days_to_issue between 141 and 364 and not issued.has_20_week_exception
        ) as plans_issued_gt20weeks_ltyear_ex,
        count(*) filter (where issued.days_to_issue > 364) as plans_issued_gt_1_year,
        count(*) filter (
            where issued.days_to_issue > 364 and not issued.has_20_week_exception
        ) as plans_issued_gt_1_year_ex
    from periods
    inner join issued
        on
            periods.area_code = issued.area_code
            and issued.plan_issued_date between periods.period_start and periods.period_end
    group by periods.area_code, periods.calendar_year
)

-- Column names as the release spells them, capitals included.
-- noqa: disable=CP02
select
    {{ dfe_return_leading_columns('timeliness_20_week') }},
    coalesce(c.plans_issued_den, 0)::bigint as plans_issued_den,
    coalesce(c.plans_issued_den_ex, 0)::bigint as plans_issued_den_ex,
    coalesce(c.plans_issued_within_20_weeks, 0)::bigint as plans_issued_within_20_weeks,
    coalesce(c.plans_issued_20_weeks_ex, 0)::bigint as plans_issued_20_weeks_ex,
    {{ dfe_return_pc('c.plans_issued_within_20_weeks', 'c.plans_issued_den') }} as pc_plans_issued_within_20_weeks,
    {{ dfe_return_pc('c.plans_issued_20_weeks_ex', 'c.plans_issued_den_ex') }} as PC_plans_issued_20_weeks_ex,
    coalesce(c.plans_issued_gt20weeks_ltyear, 0)::bigint as plans_issued_gt20weeks_ltYear,
    coalesce(c.plans_issued_gt20weeks_ltyear_ex, 0)::bigint as plans_issued_gt20weeks_ltYear_ex,
    {{ dfe_return_pc('c.plans_issued_gt20weeks_ltyear', 'c.plans_issued_den') }}
        as pc_plans_issued_gt20weeks_ltYear,
    {{ dfe_return_pc('c.plans_issued_gt20weeks_ltyear_ex', 'c.plans_issued_den_ex') }}
        as PC_plans_issued_gt20weeks_ltYear_ex,
    coalesce(c.plans_issued_gt_1_year, 0)::bigint as plans_issued_gt_1_year,
    coalesce(c.plans_issued_gt_1_year_ex, 0)::bigint as plans_issued_gt_1_year_ex,
    {{ dfe_return_pc('c.plans_issued_gt_1_year', 'c.plans_issued_den') }} as pc_plans_issued_gt_1_year,
    {{ dfe_return_pc('c.plans_issued_gt_1_year_ex', 'c.plans_issued_den_ex') }}
        as PC_plans_issued_gt_1_year_ex,
    {{ dfe_return_trailing_columns() }}
from periods as p
left join counted as c
    on
        p.area_code = c.area_code
        and p.calendar_year = c.calendar_year
left join release_identity as i
    on p.area_code = i.geography_code
-- noqa: enable=CP02
