-- The LA's EHC needs assessments in the shape of the DfE release's assessments.csv (its `All EHC
-- needs assessments` row), one row per calendar year the data covers: assessments (historical H rows
-- aside) whose outcome is dated in the year, by that outcome (Y plan issued, N not issued, W
-- withdrawn, A not made). SEN2 dates only Y and N outcomes, so an undated withdrawal or an assessment
-- still open has no year and is not counted, as in the DfE's figures (its `not made` and `withdrawn`
-- are the few records an LA dated). Decisions not to issue are timed from the request received:
-- within 16 weeks (SEND Regulations 2014, reg. 10) is on or before day 112. Mediation and tribunal
-- items (SEN2 3.3-3.6) count among the year's assessments, null where the source records none.
-- Percentages of the year's assessments, the 16-week ones of decisions not to issue.
with periods as (
    {{ dfe_return_periods() }}
),

release_identity as (
    {{ dfe_return_release_identity() }}
),

assessments as (
    select
        timed.area_code,
        timed.assessment_outcome,
        timed.outcome_date,
        datediff('day', timed.received_date, timed.outcome_date) as days_to_outcome,
        staged.had_mediation,
        staged.had_tribunal,
        staged.had_other_mediation,
        staged.had_other_tribunal
    from {{ ref('int_ehcp_assessments_timed') }} as timed
    left join {{ ref('stg_la_case_management__ehcp_assessment_sen2_items') }} as staged
        on
            timed.area_code = staged.area_code
            and timed.assessment_id = staged.assessment_id
    where timed.assessment_outcome != 'H' and timed.outcome_date is not null
),

counted as (
    select
        periods.area_code,
        periods.calendar_year,
        count(*) as assess_in_year,
        count(*) filter (where assessments.assessment_outcome = 'Y') as assess_issued,
        count(*) filter (where assessments.assessment_outcome = 'N') as assess_not_issued,
        count(*) filter (where assessments.assessment_outcome = 'A') as assess_not_made,
        count(*) filter (where assessments.assessment_outcome = 'W') as assess_withdrawn,
        count(*) filter (
            where assessments.assessment_outcome = 'N' and assessments.days_to_outcome <= 112
        ) as outcome_decision_within_time,
        count(*) filter (
            where assessments.assessment_outcome = 'N' and assessments.days_to_outcome > 112
        ) as outcome_decision_over_time,
        count(*) filter (
            where assessments.assessment_outcome = 'N' and assessments.days_to_outcome is not null
        ) as not_issued_timed,
        {{ dfe_return_count_recorded('assessments.had_mediation') }} as number_assess_mediation,
        {{ dfe_return_count_recorded('assessments.had_tribunal') }} as number_assess_tribunal,
        {{ dfe_return_count_recorded('assessments.had_mediation and assessments.had_tribunal') }}
            as number_asssess_mediation_tribunal,
        {{ dfe_return_count_recorded('assessments.had_other_mediation') }} as number_other_mediation,
        {{ dfe_return_count_recorded('assessments.had_other_tribunal') }} as number_other_tribunal,
        {{ dfe_return_count_recorded('assessments.had_other_mediation and assessments.had_other_tribunal') }}
            as number_other_mediation_tribunal
    from periods
    inner join assessments
        on
            periods.area_code = assessments.area_code
            and assessments.outcome_date between periods.period_start and periods.period_end
    group by periods.area_code, periods.calendar_year
)

select
    {{ dfe_return_leading_columns('assessments') }},
    coalesce(c.assess_in_year, 0)::bigint as assess_in_year,
    coalesce(c.assess_issued, 0)::bigint as assess_issued,
    {{ dfe_return_pc('c.assess_issued', 'c.assess_in_year') }} as assess_issued_pc,
    coalesce(c.assess_not_issued, 0)::bigint as assess_not_issued,
    {{ dfe_return_pc('c.assess_not_issued', 'c.assess_in_year') }} as assess_not_issued_pc,
    coalesce(c.assess_not_made, 0)::bigint as assess_not_made,
    {{ dfe_return_pc('c.assess_not_made', 'c.assess_in_year') }} as assess_not_made_pc,
    coalesce(c.assess_withdrawn, 0)::bigint as assess_withdrawn,
    {{ dfe_return_pc('c.assess_withdrawn', 'c.assess_in_year') }} as assess_withdrawn_pc,
    coalesce(c.outcome_decision_within_time, 0)::bigint as outcome_decision_within_time,
    coalesce(c.outcome_decision_over_time, 0)::bigint as outcome_decision_over_time,
    {{ dfe_return_pc('c.outcome_decision_within_time', 'c.not_issued_timed') }} as outcome_decision_within_time_pc,
    {{ dfe_return_pc('c.outcome_decision_over_time', 'c.not_issued_timed') }} as outcome_decision_over_time_pc,
    c.number_assess_mediation::bigint as number_assess_mediation,
    c.number_assess_tribunal::bigint as number_assess_tribunal,
    c.number_asssess_mediation_tribunal::bigint as number_asssess_mediation_tribunal,
    c.number_other_mediation::bigint as number_other_mediation,
    c.number_other_tribunal::bigint as number_other_tribunal,
    c.number_other_mediation_tribunal::bigint as number_other_mediation_tribunal,
    {{ dfe_return_trailing_columns() }}
from periods as p
left join counted as c
    on
        p.area_code = c.area_code
        and p.calendar_year = c.calendar_year
left join release_identity as i
    on p.area_code = i.geography_code
