-- The LA's requests for an EHC needs assessment in the shape of the DfE release's requests.csv (its
-- `All requests for EHC needs assessments` row), one row per calendar year the data covers: requests
-- received in the year (historical H rows are not requests received) with their outcome as known on
-- the census date closing the year (SEN2: a decision dated after it was still to be made then). The
-- 6-week clock is int_ehcp_requests_timed's (day 42 on time), over the Y / N decisions dated by the
-- census; a withdrawal (W) has no date in SEN2 and counts as known. Mediation and tribunal items count
-- among requests whose outcome is known by the census (they follow the decision), null where the
-- source records none. Percentages of requests received, the 6-week ones of decisions timed.
with periods as (
    {{ dfe_return_periods() }}
),

release_identity as (
    {{ dfe_return_release_identity() }}
),

requests as (
    select
        timed.area_code,
        timed.received_date,
        timed.decision_outcome,
        timed.decision_date,
        timed.days_to_decision,
        staged.in_relevant_youth_accommodation,
        staged.had_mediation,
        staged.had_tribunal
    from {{ ref('int_ehcp_requests_timed') }} as timed
    left join {{ ref('stg_la_case_management__ehcp_request_sen2_items') }} as staged
        on
            timed.area_code = staged.area_code
            and timed.request_id = staged.request_id
    where timed.is_new_request
),

as_at_census as (
    select
        periods.area_code,
        periods.calendar_year,
        requests.in_relevant_youth_accommodation,
        requests.had_mediation,
        requests.had_tribunal,
        requests.days_to_decision,
        case
            when requests.decision_outcome in ('Y', 'N') and requests.decision_date > periods.census_date then 'A'
            else requests.decision_outcome
        end as outcome_at_census,
        requests.decision_outcome in ('Y', 'N')
        and requests.decision_date <= periods.census_date as decision_timed
    from periods
    inner join requests
        on
            periods.area_code = requests.area_code
            and requests.received_date between periods.period_start and periods.period_end
),

counted as (
    select
        area_code,
        calendar_year,
        count(*) as requests_received_in_year,
        {{ dfe_return_count_recorded('in_relevant_youth_accommodation') }} as requests_rya,
        count(*) filter (where outcome_at_census = 'Y') as requests_decided_to_assess,
        count(*) filter (where outcome_at_census = 'N') as requests_decided_not_to_assess,
        count(*) filter (where outcome_at_census = 'A') as requests_decision_not_made,
        count(*) filter (where outcome_at_census = 'W') as requests_withdrawn,
        count(*) filter (where decision_timed and days_to_decision <= 42) as request_outcome_six_weeks,
        count(*) filter (where decision_timed and days_to_decision > 42) as request_outcome_over_6_weeks,
        count(*) filter (where decision_timed and days_to_decision is not null) as decisions_timed,
        {{ dfe_return_count_recorded('had_mediation', "outcome_at_census != 'A'") }} as mediation_related_request,
        {{ dfe_return_count_recorded('had_tribunal', "outcome_at_census != 'A'") }} as tribunal_related_request,
        {{ dfe_return_count_recorded('had_mediation and had_tribunal', "outcome_at_census != 'A'") }}
            as tribunal_after_mediation_request
    from as_at_census
    group by area_code, calendar_year
)

select
    {{ dfe_return_leading_columns('requests') }},
    coalesce(c.requests_received_in_year, 0)::bigint as requests_received_in_year,
    c.requests_rya::bigint as requests_rya,
    coalesce(c.requests_decided_to_assess, 0)::bigint as requests_decided_to_assess,
    coalesce(c.requests_decided_not_to_assess, 0)::bigint as requests_decided_not_to_assess,
    coalesce(c.requests_decision_not_made, 0)::bigint as requests_decision_not_made,
    coalesce(c.requests_withdrawn, 0)::bigint as requests_withdrawn,
    {{ dfe_return_pc('c.requests_decided_to_assess', 'c.requests_received_in_year') }} as request_assess_pc,
    {{ dfe_return_pc('c.requests_decided_not_to_assess', 'c.requests_received_in_year') }} as request_not_assess_pc,
    {{ dfe_return_pc('c.requests_decision_not_made', 'c.requests_received_in_year') }} as request_outstanding_pc,
    {{ dfe_return_pc('c.requests_withdrawn', 'c.requests_received_in_year') }} as request_withdrawn_pc,
    coalesce(c.request_outcome_six_weeks, 0)::bigint as request_outcome_six_weeks,
    coalesce(c.request_outcome_over_6_weeks, 0)::bigint as request_outcome_over_6_weeks,
    {{ dfe_return_pc('c.request_outcome_six_weeks', 'c.decisions_timed') }} as request_outcome_six_weeks_pc,
    {{ dfe_return_pc('c.request_outcome_over_6_weeks', 'c.decisions_timed') }} as request_outcome_over_6_weeks_pc,
    c.mediation_related_request::bigint as mediation_related_request,
    c.tribunal_related_request::bigint as tribunal_related_request,
    c.tribunal_after_mediation_request::bigint as tribunal_after_mediation_request,
    {{ dfe_return_trailing_columns() }}
from periods as p
left join counted as c
    on
        p.area_code = c.area_code
        and p.calendar_year = c.calendar_year
left join release_identity as i
    on p.area_code = i.geography_code
