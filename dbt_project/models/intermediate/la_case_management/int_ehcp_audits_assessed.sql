-- EHC plan quality audits with their measures: graded good or better (outstanding or good); for an
-- inadequate grade, the closing-the-loop meeting within 4 weeks (on or before the deadline, day 28
-- after the audit; none held counts as not within, and the KPI judges it in the deadline's month,
-- once the deadline has passed); the young person's school year on the audit date for the Year 9+
-- PfA measure.
with audits as (
    select * from {{ ref('stg_la_case_management__ehcp_audits') }}
),

spans as (
    select * from {{ ref('int_ehcp_plan_spans') }}
    where active_plan_id is not null
)

select
    audits.area_code,
    audits.audit_id,
    audits.active_plan_id,
    spans.named_plan_id,
    spans.person_key,
    audits.review_id,
    audits.audit_type,
    audits.audit_date,
    audits.grade,
    audits.grade in ('OUTSTANDING', 'GOOD') as is_good_or_better,
    audits.grade = 'INADEQUATE' as is_inadequate,
    audits.closing_loop_date,
    case when audits.grade = 'INADEQUATE' then (audits.audit_date + interval 28 day)::date end
        as closing_loop_deadline,
    case when audits.grade = 'INADEQUATE' then datediff('day', audits.audit_date, audits.closing_loop_date) end
        as days_to_closing_loop,
    case when audits.grade = 'INADEQUATE' then coalesce(days_to_closing_loop <= 28, false) end
        as closing_loop_within_4_weeks,
    audits.pfa_clear,
    {{ la_case_management_school_year('spans.birth_month', 'audits.audit_date') }} as school_year_at_audit
from audits
left join spans
    on
        audits.area_code = spans.area_code
        and audits.active_plan_id = spans.active_plan_id
