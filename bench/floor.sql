-- The floor: every feed-computed KPI of the catalogue (the 30 la_case_management and the 14
-- icb_nd_referrals ones) computed by hand in one DuckDB script, straight from the landed Parquet (no
-- raw tables, no dbt, no checks, no publication). bench/pipeline.py times it next to the platform and
-- asserts that marts.kpi_values holds the same figures: a second implementation, written from the
-- catalogue's definitions and the models' documented rules, not from their SQL.
--
-- Run from the landing folder (paths are relative to it) after `set variable as_of = date '...'`.
-- Rules mirrored from the catalogue and the dbt models' yml descriptions:
--   * rejected rows are not in the landed files (the extract writes them to *.rejects.parquet)
--   * the current row of a key is its newest landed version (last_modified_at, then the newest batch)
--   * keys missing from the latest full reconciliation's key list of the LA are deleted at source
--   * LA months: from the LA's first new request (never before var first_period, 2021-01) to the last
--     whole month ending on or before as_of; every KPI has a row in every such month (a true zero)
--   * days between dates, "within N weeks" is days <= 7N; a clock whose case must not drop out by
--     waiting counts in its deadline's month, done or not (advice + 42, meeting + 28, audit + 28,
--     annual review due date); month-end states are taken on the month's last day
--   * 20 weeks and the DfE bands: Y assessments (plans issued) in the issue month, received -> issued
--     <= 140 / 141-364 / >= 365 days; exception: the SEN2 flag or a recorded permitted exception
--   * annual reviews due: end of the 12 months starting with the plan start, then with each meeting
--     held (29 February: 28 February), a review not held stays due, none owed once the plan ceased
--   * PfA: school year from the birth month (31 August cut-off); the plan's young person via its
--     maintained-plan row -> request -> SEND record -> person
--   * ND: the newest file version per provider and month; a referral's latest snapshot gives its
--     state, one missing from its provider's newest snapshot without an outcome was deleted; months
--     per LA and pathway where every provider serving it delivered (person-level snapshot, or an
--     aggregate-only provider its waiting list) and one is person-level; waiting counts add each
--     provider's person-level count, else its aggregate wait bands
-- Left out: area localities (the comparison is per LA), the aggregate-only fallback months
-- (provenance aggregate_feed) and the manual scorecard.

create or replace temp table la_batches as
select
    area_code,
    mode,
    extracted_at::timestamptz as extracted_at,
    parse_dirpath(filename) as batch_dir
from read_json('la_case_management/*/manifest.json', filename = true);

create or replace temp view landed_requests as
select
    *,
    ehcr_ehcp_request_id::varchar as record_key,
    parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/ssd_ehcp_requests.parquet', filename = true);

create or replace temp view landed_assessments as
select
    *,
    ehca_ehcp_assessment_id::varchar as record_key,
    parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/ssd_ehcp_assessment.parquet', filename = true);

create or replace temp view landed_reviews as
select
    *,
    anre_review_id::varchar as record_key,
    parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/send_annual_reviews.parquet', filename = true);

create or replace temp view keys_requests as
select record_key, parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/ssd_ehcp_requests.keys.parquet', filename = true);

create or replace temp view keys_assessments as
select record_key, parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/ssd_ehcp_assessment.keys.parquet', filename = true);

create or replace temp view keys_reviews as
select record_key, parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/send_annual_reviews.keys.parquet', filename = true);

create or replace temp view landed_advice as
select
    *,
    ehad_advice_id::varchar as record_key,
    parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/send_ehcp_advice.parquet', filename = true);

create or replace temp view keys_advice as
select record_key, parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/send_ehcp_advice.keys.parquet', filename = true);

create or replace temp view landed_allocations as
select
    *,
    epal_allocation_id::varchar as record_key,
    parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/send_ep_allocations.parquet', filename = true);

create or replace temp view keys_allocations as
select record_key, parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/send_ep_allocations.keys.parquet', filename = true);

create or replace temp view landed_exceptions as
select
    *,
    asex_exception_id::varchar as record_key,
    parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/send_assessment_exceptions.parquet', filename = true);

create or replace temp view keys_exceptions as
select record_key, parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/send_assessment_exceptions.keys.parquet', filename = true);

create or replace temp view landed_named_plans as
select
    *,
    ehcn_named_plan_id::varchar as record_key,
    parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/ssd_ehcp_named_plan.parquet', filename = true);

create or replace temp view keys_named_plans as
select record_key, parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/ssd_ehcp_named_plan.keys.parquet', filename = true);

create or replace temp view landed_active_plans as
select
    *,
    ehcp_active_ehcp_id::varchar as record_key,
    parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/ssd_ehcp_active_plans.parquet', filename = true);

create or replace temp view keys_active_plans as
select record_key, parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/ssd_ehcp_active_plans.keys.parquet', filename = true);

create or replace temp view landed_audits as
select
    *,
    ehqa_audit_id::varchar as record_key,
    parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/send_ehcp_audits.parquet', filename = true);

create or replace temp view keys_audits as
select record_key, parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/send_ehcp_audits.keys.parquet', filename = true);

create or replace temp view landed_persons as
select
    *,
    pers_person_id_hash::varchar as record_key,
    parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/ssd_person.parquet', filename = true);

create or replace temp view keys_persons as
select record_key, parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/ssd_person.keys.parquet', filename = true);

create or replace temp view landed_send_records as
select
    *,
    send_table_id::varchar as record_key,
    parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/ssd_send.parquet', filename = true);

create or replace temp view keys_send_records as
select record_key, parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/ssd_send.keys.parquet', filename = true);

create or replace temp view landed_post16 as
select
    *,
    p16a_activity_id::varchar as record_key,
    parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/send_post16_activity.parquet', filename = true);

create or replace temp view keys_post16 as
select record_key, parse_dirpath(filename) as batch_dir
from read_parquet('la_case_management/*/send_post16_activity.keys.parquet', filename = true);

-- The current rows of one table: newest version per key, less keys deleted at source.
create or replace temp macro current_rows(rows_view, keys_view) as table
with versions as (
    select
        v.*,
        b.extracted_at
    from query_table(rows_view) as v
    inner join la_batches as b on v.batch_dir = b.batch_dir
),

latest_full as (
    select
        area_code,
        max(extracted_at) as extracted_at
    from la_batches
    where mode = 'full'
    group by area_code
),

full_keys as (
    select
        b.area_code,
        k.record_key
    from query_table(keys_view) as k
    inner join la_batches as b on k.batch_dir = b.batch_dir
    inner join latest_full as f on b.area_code = f.area_code and b.extracted_at = f.extracted_at
),

deleted as (
    select distinct
        v.area_code,
        v.record_key
    from versions as v
    inner join latest_full as f on v.area_code = f.area_code and v.extracted_at <= f.extracted_at
    where not exists (
        select 1 from full_keys as k
        where k.area_code = v.area_code and k.record_key = v.record_key
    )
)

select v.*
from versions as v
where not exists (
    select 1 from deleted as d
    where d.area_code = v.area_code and d.record_key = v.record_key
)
qualify
    row_number() over (
        partition by v.area_code, v.record_key order by v.last_modified_at desc, v.extracted_at desc
    ) = 1;

create or replace temp table requests as
select * from current_rows('landed_requests', 'keys_requests');

create or replace temp table assessments as
select * from current_rows('landed_assessments', 'keys_assessments');

create or replace temp table reviews as
select * from current_rows('landed_reviews', 'keys_reviews');

create or replace temp table advice as
select * from current_rows('landed_advice', 'keys_advice');

create or replace temp table allocations as
select * from current_rows('landed_allocations', 'keys_allocations');

create or replace temp table exceptions as
select * from current_rows('landed_exceptions', 'keys_exceptions');

create or replace temp table named_plans as
select * from current_rows('landed_named_plans', 'keys_named_plans');

create or replace temp table active_plans as
select * from current_rows('landed_active_plans', 'keys_active_plans');

create or replace temp table audits as
select * from current_rows('landed_audits', 'keys_audits');

create or replace temp table persons as
select * from current_rows('landed_persons', 'keys_persons');

create or replace temp table send_records as
select * from current_rows('landed_send_records', 'keys_send_records');

create or replace temp table post16 as
select * from current_rows('landed_post16', 'keys_post16');

create or replace temp table feed_months as
with firsts as (
    select
        area_code,
        greatest(date_trunc('month', min(ehcr_ehcp_req_date)), date '2021-01-01')::date as first_month
    from requests
    where ehcr_ehcp_req_outcome != 'H'
    group by area_code
)

select
    firsts.area_code,
    months.period_start::date as period_start,
    (months.period_start + interval 1 month - interval 1 day)::date as month_end
from firsts
cross join unnest(range(firsts.first_month, getvariable('as_of'), interval 1 month)) as months (period_start)
where months.period_start + interval 1 month <= getvariable('as_of');

-- The last day of the period of 12 * n months starting with d (CFA 2014 s.44(1)): the day before the
-- date 12 * n months on, or the last day of that month where it has no such date (29 February).
create or replace temp macro period_end(d, n) as (
    case
        when month(d) = 2 and day(d) = 29 then last_day(d + to_months(12 * n))
        else d + to_months(12 * n) - interval 1 day
    end
)::date;

-- Named plans (start, cease) and the maintained-plan rows (active_plan_id) pointing at them.
create or replace temp table plans as
select
    n.area_code,
    n.ehcn_named_plan_id as plan_id,
    n.ehcn_ehcp_asmt_id as assessment_id,
    n.ehcn_named_plan_start_date as start_date,
    n.ehcn_named_plan_ceased_date as ceased_date
from named_plans as n
where n.ehcn_named_plan_start_date is not null;

create or replace temp table plan_links as
select
    a.area_code,
    a.ehcp_active_ehcp_id as active_plan_id,
    p.plan_id,
    p.start_date,
    p.ceased_date
from active_plans as a
inner join plans as p on a.area_code = p.area_code and a.ehcp_named_plan_id = p.plan_id;

-- Plans in force on each covered month end.
create or replace temp table plans_month_end as
select
    m.area_code,
    m.period_start,
    m.month_end,
    p.plan_id
from feed_months as m
inner join plans as p
    on
        m.area_code = p.area_code
        and p.start_date <= m.month_end
        and (p.ceased_date is null or p.ceased_date > m.month_end);

-- School year on a date from the birth month (the year group is set by age on 31 August): academic
-- year of the date less the birth cohort's, less 5 (born September 2011 to August 2012: Year 9 in
-- 2024/25).
create or replace temp macro school_year(birth_month, d) as (
    (year(d) - case when month(d) >= 9 then 0 else 1 end)
    - (year(birth_month) - case when month(birth_month) >= 9 then 0 else 1 end)
    - 5
);

-- The young person of each plan (maintained-plan row -> request -> SEND record -> person) and their
-- birth month.
create or replace temp table plan_people as
select
    l.area_code,
    l.plan_id,
    l.active_plan_id,
    s.send_person_id_hash as person_key,
    p.pers_dob as birth_month
from plan_links as l
inner join active_plans as a on l.area_code = a.area_code and l.active_plan_id = a.ehcp_active_ehcp_id
inner join requests as r on a.area_code = r.area_code and a.ehcp_ehcp_request_id = r.ehcr_ehcp_request_id
inner join send_records as s on r.area_code = s.area_code and r.ehcr_send_table_id = s.send_table_id
inner join persons as p on s.area_code = p.area_code and s.send_person_id_hash = p.pers_person_id_hash;

-- Plans issued: Y assessments with their request's received date; exception by the SEN2 flag or a
-- recorded permitted exception.
create or replace temp table issued as
select
    a.area_code,
    date_trunc('month', a.ehca_ehcp_assessment_outcome_date)::date as period_start,
    datediff('day', r.ehcr_ehcp_req_date, a.ehca_ehcp_assessment_outcome_date) as days,
    coalesce(a.ehca_ehcp_assessment_exceptions = '1', false)
    or exists (
        select 1 from exceptions as x
        where x.area_code = a.area_code and x.asex_ehcp_assessment_id = a.ehca_ehcp_assessment_id
    ) as has_exception
from assessments as a
inner join requests as r
    on a.area_code = r.area_code and a.ehca_ehcp_request_id = r.ehcr_ehcp_request_id
where
    a.ehca_ehcp_assessment_outcome = 'Y'
    and a.ehca_ehcp_assessment_outcome_date is not null
    and r.ehcr_ehcp_req_date is not null;

-- Agreed assessments open at each month end: request Y decided by then, assessment still A or its
-- outcome (Y, N, dated W) after the month end.
create or replace temp table open_assessments as
select
    m.area_code,
    m.period_start,
    m.month_end,
    a.ehca_ehcp_assessment_id as assessment_id,
    m.month_end - r.ehcr_ehcp_req_date as days_waiting
from requests as r
inner join assessments as a
    on r.area_code = a.area_code and r.ehcr_ehcp_request_id = a.ehca_ehcp_request_id
inner join feed_months as m
    on
        r.area_code = m.area_code
        and r.ehcr_ehcp_req_outcome_date <= m.month_end
        and (
            a.ehca_ehcp_assessment_outcome = 'A'
            or (
                a.ehca_ehcp_assessment_outcome in ('Y', 'N', 'W')
                and a.ehca_ehcp_assessment_outcome_date > m.month_end
            )
        )
where r.ehcr_ehcp_req_outcome = 'Y';

-- Advice with its 6-week deadline; lapsed: never returned and its assessment withdrawn or decided by
-- the deadline (an assessment the warehouse does not hold cannot be shown ended: not lapsed).
create or replace temp table advice_timed as
select
    v.area_code,
    v.ehad_advice_id as advice_id,
    v.ehad_ehcp_assessment_id as assessment_id,
    v.ehad_advice_type as advice_type,
    v.ehad_received_date as received_date,
    v.ehad_requested_date + 42 as deadline,
    coalesce(
        v.ehad_received_date is null
        and (
            a.ehca_ehcp_assessment_outcome = 'W'
            or (
                a.ehca_ehcp_assessment_outcome in ('Y', 'N')
                and a.ehca_ehcp_assessment_outcome_date <= v.ehad_requested_date + 42
            )
        ),
        false
    ) as has_lapsed
from advice as v
left join assessments as a
    on v.area_code = a.area_code and v.ehad_ehcp_assessment_id = a.ehca_ehcp_assessment_id
where v.ehad_requested_date is not null;

-- Annual reviews due per plan: the first at the end of the 12 months starting with the plan start
-- (a plan older than the area's review history: its first review row's recorded due date, or with no
-- row the first 12-month period end on or after the history's start), each next at the end of the 12
-- months starting with the previous meeting held; a due date on or after the plan's cease is owed no
-- more. Same-day rows are one meeting.
create or replace temp table plan_meetings as
select distinct
    l.area_code,
    l.plan_id,
    r.anre_meeting_date as meeting_date,
    min(r.anre_review_due_date) over (partition by l.area_code, l.plan_id order by r.anre_meeting_date)
        as first_recorded_due
from reviews as r
inner join plan_links as l on r.area_code = l.area_code and r.anre_active_ehcp_id = l.active_plan_id
where r.anre_meeting_date is not null;

create or replace temp table reviews_due as
with history as (
    select area_code, min(anre_meeting_date) as history_start
    from reviews
    group by area_code
),

numbered as (
    select
        *,
        row_number() over (partition by area_code, plan_id order by meeting_date) as n
    from plan_meetings
),

firsts as (
    select
        p.area_code,
        p.plan_id,
        p.ceased_date,
        case
            when p.start_date >= h.history_start then period_end(p.start_date, 1)
            when f.meeting_date is not null then f.first_recorded_due
            else period_end(
                p.start_date,
                greatest(1, ceil(datediff('month', p.start_date, h.history_start) / 12)::integer)
            )
        end as first_due
    from plans as p
    inner join history as h on p.area_code = h.area_code
    left join numbered as f on p.area_code = f.area_code and p.plan_id = f.plan_id and f.n = 1
),

sequence as (
    select
        f.area_code,
        f.plan_id,
        f.ceased_date,
        coalesce(n.n, 1) as review_number,
        f.first_due as due_date,
        n.meeting_date
    from firsts as f
    left join numbered as n on f.area_code = n.area_code and f.plan_id = n.plan_id and n.n = 1
    union all
    select
        f.area_code,
        f.plan_id,
        f.ceased_date,
        n.n + 1,
        period_end(n.meeting_date, 1),
        nxt.meeting_date
    from firsts as f
    inner join numbered as n on f.area_code = n.area_code and f.plan_id = n.plan_id
    left join numbered as nxt on n.area_code = nxt.area_code and n.plan_id = nxt.plan_id and nxt.n = n.n + 1
)

select *
from sequence
where ceased_date is null or ceased_date > due_date;

-- Audits with the plan audited.
create or replace temp table audits_assessed as
select
    q.area_code,
    q.ehqa_audit_date as audit_date,
    l.plan_id,
    q.ehqa_grade in ('OUTSTANDING', 'GOOD') as is_good_or_better,
    q.ehqa_grade = 'INADEQUATE' as is_inadequate,
    coalesce(q.ehqa_closing_loop_date <= q.ehqa_audit_date + 28, false) as closing_loop_on_time,
    q.ehqa_pfa_clear as pfa_clear,
    school_year(pp.birth_month, q.ehqa_audit_date) as school_year
from audits as q
left join plan_links as l on q.area_code = l.area_code and q.ehqa_active_ehcp_id = l.active_plan_id
left join plan_people as pp on l.area_code = pp.area_code and l.plan_id = pp.plan_id
where q.ehqa_audit_date is not null;

-- Flow KPIs: one row per case in the month it counts in; on_time null for a plain count.
create or replace temp table la_events as
select
    'EHCP_REQUESTS' as kpi_code,
    area_code,
    date_trunc('month', ehcr_ehcp_req_date)::date as period_start,
    null::boolean as on_time
from requests
where ehcr_ehcp_req_outcome != 'H' and ehcr_ehcp_req_date is not null
union all
select
    'EHCP_DECISION_6WK',
    area_code,
    date_trunc('month', ehcr_ehcp_req_outcome_date)::date,
    datediff('day', ehcr_ehcp_req_date, ehcr_ehcp_req_outcome_date) <= 42
from requests
where
    ehcr_ehcp_req_outcome in ('Y', 'N')
    and ehcr_ehcp_req_outcome_date is not null
    and ehcr_ehcp_req_date is not null
union all
select 'EHCP_20WK_ALL', area_code, period_start, days <= 140 from issued
union all
select 'EHCP_20WK_EXCL', area_code, period_start, days <= 140 from issued where not has_exception
union all
select 'EHCP_ISSUED_20_52WK', area_code, period_start, days between 141 and 364 from issued
union all
select 'EHCP_ISSUED_OVER_52WK', area_code, period_start, days >= 365 from issued
union all
select
    'EHCP_ADVICE_' || advice_type || '_6WK',
    area_code,
    date_trunc('month', deadline)::date,
    coalesce(received_date <= deadline, false)
from advice_timed
where not has_lapsed and advice_type in ('EP', 'HEALTH', 'SOCIAL_CARE')
union all
select 'EHCP_EP_ALLOCATIONS', area_code, date_trunc('month', first_allocated)::date, null
from (
    select v.area_code, v.assessment_id, min(e.epal_allocated_date) as first_allocated
    from allocations as e
    inner join advice_timed as v on e.area_code = v.area_code and e.epal_advice_id = v.advice_id
    group by all
)
where first_allocated is not null
union all
select 'EHCP_AUDITS_COMPLETED', area_code, date_trunc('month', audit_date)::date, null from audits_assessed
union all
select 'EHCP_AUDITS_GOOD_OR_BETTER', area_code, date_trunc('month', audit_date)::date, is_good_or_better
from audits_assessed
union all
select 'EHCP_INADEQUATE_CTL_4WK', area_code, date_trunc('month', audit_date + 28)::date, closing_loop_on_time
from audits_assessed
where is_inadequate
union all
select 'PFA_AUDIT_CLEAR', area_code, date_trunc('month', audit_date)::date, coalesce(pfa_clear, false)
from audits_assessed
where school_year >= 9
union all
select
    'AR_DECISION_4WK',
    area_code,
    date_trunc('month', anre_meeting_date + 28)::date,
    coalesce(anre_decision_date <= anre_meeting_date + 28, false)
from reviews
where anre_meeting_date is not null
union all
select 'AR_WITHIN_12M', area_code, date_trunc('month', due_date)::date, coalesce(meeting_date <= due_date, false)
from reviews_due
union all
select
    'AR_PHASE_TRANSFER_ON_TIME',
    area_code,
    date_trunc('month', anre_phase_transfer_due_date)::date,
    coalesce(anre_phase_transfer_final_date <= anre_phase_transfer_due_date, false)
from reviews
where anre_phase_transfer_due_date is not null;

-- Month-end states: (kpi_code, area_code, period_start, numerator, denominator, value).
create or replace temp table la_states as
select
    'EHCP_DECISIONS_PENDING_6WK' as kpi_code,
    m.area_code,
    m.period_start,
    count(*) as numerator,
    null::bigint as denominator,
    null::double as value
from requests as r
inner join feed_months as m
    on
        r.area_code = m.area_code
        and m.month_end - r.ehcr_ehcp_req_date > 42
        and (r.ehcr_ehcp_req_outcome_date is null or r.ehcr_ehcp_req_outcome_date > m.month_end)
where r.ehcr_ehcp_req_outcome not in ('H', 'W')
group by all
union all
select 'EHCP_OPEN_PAST_20WK', area_code, period_start, count(*) filter (where days_waiting > 140), null, null
from open_assessments
group by all
union all
select 'EHCP_LONGEST_OPEN_WAIT_WEEKS', area_code, period_start, null, count(*), max(days_waiting) / 7
from open_assessments
group by all
union all
select 'EHCP_ADVICE_' || v.advice_type || '_OVERDUE', o.area_code, o.period_start, count(*), null, null
from open_assessments as o
inner join advice_timed as v
    on
        o.area_code = v.area_code
        and o.assessment_id = v.assessment_id
        and v.deadline < o.month_end
        and (v.received_date is null or v.received_date > o.month_end)
where v.advice_type in ('EP', 'HEALTH', 'SOCIAL_CARE')
group by all
union all
select 'EHCP_ACTIVE_PLANS', area_code, period_start, count(*), null, null
from plans_month_end
group by all
union all
-- A plan audited in the 12 months to month end: an audit counts at the month ends of its own month
-- and the 11 after it.
select
    'EHCP_AUDIT_COVERAGE_12M',
    p.area_code,
    p.period_start,
    count(*) filter (where q.plan_id is not null),
    count(*),
    null
from plans_month_end as p
left join (
    select distinct
        q.area_code,
        q.plan_id,
        m.period_start::date as period_start
    from audits_assessed as q
    -- calendar months: an audit on 29 February 2024 is out of February 2025's window, as one on the 28th
    cross join
        unnest(
            range(
                date_trunc('month', q.audit_date), date_trunc('month', q.audit_date) + interval 12 month, interval 1 month
            )
        ) as m (period_start)
    where q.plan_id is not null
) as q
    on p.area_code = q.area_code and p.plan_id = q.plan_id and p.period_start = q.period_start
group by all
union all
select 'AR_OVERDUE', p.area_code, p.period_start, count(distinct p.plan_id), null, null
from plans_month_end as p
inner join reviews_due as d
    on
        p.area_code = d.area_code
        and p.plan_id = d.plan_id
        and d.due_date < p.month_end
        and (d.meeting_date is null or d.meeting_date > p.month_end)
group by all
union all
-- PfA: Year 9+ plans in force whose latest review held by month end covered PfA (none: not covered,
-- same-day rows: the highest review id).
select
    'PFA_REVIEW_COVERED',
    p.area_code,
    p.period_start,
    count(*) filter (where r.pfa_covered),
    count(*),
    null
from (
    select p.*, pp.active_plan_id
    from plans_month_end as p
    inner join plan_people as pp on p.area_code = pp.area_code and p.plan_id = pp.plan_id
    where school_year(pp.birth_month, p.month_end) >= 9
) as p
asof left join (
    select
        area_code,
        anre_active_ehcp_id as active_plan_id,
        anre_meeting_date as meeting_date,
        arg_max(anre_pfa_covered, anre_review_id) as pfa_covered
    from reviews
    where anre_meeting_date is not null
    group by all
) as r
    on p.area_code = r.area_code and p.active_plan_id = r.active_plan_id and p.month_end >= r.meeting_date
group by all
union all
-- Young people in school years 12-13 with a plan in force whose latest activity recorded by month end
-- is NEET or not known (none recorded: not known), each counted once.
select
    'PFA_NEET_16_17',
    p.area_code,
    p.period_start,
    count(*) filter (where coalesce(a.status, 'NOT_KNOWN') in ('NEET', 'NOT_KNOWN')),
    count(*),
    null
from (
    select distinct
        p.area_code,
        p.period_start,
        p.month_end,
        pp.person_key
    from plans_month_end as p
    inner join plan_people as pp on p.area_code = pp.area_code and p.plan_id = pp.plan_id
    where school_year(pp.birth_month, p.month_end) between 12 and 13
) as p
asof left join (
    select
        area_code,
        p16a_person_id_hash as person_key,
        p16a_activity_date as activity_date,
        arg_max(p16a_status, p16a_activity_id) as status
    from post16
    where p16a_activity_date is not null
    group by all
) as a
    on p.area_code = a.area_code and p.person_key = a.person_key and p.month_end >= a.activity_date
group by all
union all
-- Decisions outstanding for plans in force at month end: a review whose named plan is unknown (its row
-- rejected at the extract) cannot be shown in force and is left out, as AR_OVERDUE and EHCP_ACTIVE_PLANS
-- leave it out (the platform counts it here: reported in issue 19's floor round).
select 'AR_DECISIONS_OUTSTANDING_4WK', p.area_code, p.period_start, count(*), null, null
from reviews as r
inner join plan_links as l on r.area_code = l.area_code and r.anre_active_ehcp_id = l.active_plan_id
inner join plans_month_end as p
    on
        l.area_code = p.area_code
        and l.plan_id = p.plan_id
        and p.month_end - r.anre_meeting_date > 28
        and (r.anre_decision_date is null or r.anre_decision_date > p.month_end)
group by all;

-- Every LA KPI in every covered month (a month without cases is a true zero).
create or replace temp table la_kpis (kpi_code varchar, kind varchar);
insert into la_kpis values
    ('EHCP_REQUESTS', 'count'),
    ('EHCP_DECISION_6WK', 'share'),
    ('EHCP_20WK_ALL', 'share'),
    ('EHCP_20WK_EXCL', 'share'),
    ('EHCP_ISSUED_20_52WK', 'share'),
    ('EHCP_ISSUED_OVER_52WK', 'share'),
    ('EHCP_ADVICE_EP_6WK', 'share'),
    ('EHCP_ADVICE_HEALTH_6WK', 'share'),
    ('EHCP_ADVICE_SOCIAL_CARE_6WK', 'share'),
    ('EHCP_EP_ALLOCATIONS', 'count'),
    ('EHCP_AUDITS_COMPLETED', 'count'),
    ('EHCP_AUDITS_GOOD_OR_BETTER', 'share'),
    ('EHCP_INADEQUATE_CTL_4WK', 'share'),
    ('AR_DECISION_4WK', 'share'),
    ('AR_WITHIN_12M', 'share'),
    ('AR_PHASE_TRANSFER_ON_TIME', 'share'),
    ('EHCP_MEAN_WEEKS_TO_ISSUE', 'weeks'),
    ('EHCP_DECISIONS_PENDING_6WK', 'state'),
    ('EHCP_OPEN_PAST_20WK', 'state'),
    ('EHCP_LONGEST_OPEN_WAIT_WEEKS', 'weeks'),
    ('EHCP_ADVICE_EP_OVERDUE', 'state'),
    ('EHCP_ADVICE_HEALTH_OVERDUE', 'state'),
    ('EHCP_ADVICE_SOCIAL_CARE_OVERDUE', 'state'),
    ('EHCP_ACTIVE_PLANS', 'state'),
    ('EHCP_AUDIT_COVERAGE_12M', 'state_share'),
    ('AR_OVERDUE', 'state'),
    ('AR_DECISIONS_OUTSTANDING_4WK', 'state'),
    ('PFA_AUDIT_CLEAR', 'share'),
    ('PFA_REVIEW_COVERED', 'state_share'),
    ('PFA_NEET_16_17', 'state_share');

create or replace temp table la_monthly as
with flows as (
    select
        kpi_code,
        area_code,
        period_start,
        count(*) filter (where coalesce(on_time, true)) as numerator,
        count(*) as cases
    from la_events
    group by all
),

mean_weeks as (
    select
        'EHCP_MEAN_WEEKS_TO_ISSUE' as kpi_code,
        area_code,
        period_start,
        null::bigint as numerator,
        count(*) as denominator,
        avg(days) / 7 as value
    from issued
    group by all
),

states as (
    select * from la_states
    union all
    select * from mean_weeks
)

select
    k.kpi_code,
    m.area_code,
    m.period_start,
    case
        when k.kind in ('count', 'share') then coalesce(f.numerator, 0)
        when k.kind in ('state', 'state_share') then coalesce(s.numerator, 0)
    end::bigint as numerator,
    case
        when k.kind = 'share' then coalesce(f.cases, 0)
        when k.kind in ('state_share', 'weeks') then coalesce(s.denominator, 0)
    end::bigint as denominator,
    case when k.kind = 'weeks' then s.value end::double as value
from la_kpis as k
cross join feed_months as m
left join flows as f on k.kpi_code = f.kpi_code and m.area_code = f.area_code and m.period_start = f.period_start
left join states as s on k.kpi_code = s.kpi_code and m.area_code = s.area_code and m.period_start = s.period_start;

-- ICB person-level snapshots: the newest file version per provider and month, one row per referral.
create or replace temp table nd_snapshots as
with landed as (
    select
        *,
        coalesce(
            try_strptime(regexp_extract(_source_file, '_([0-9]{6})(_v[0-9]+)?\.csv$', 1), '%Y%m')::date,
            date_trunc('month', snapshot_date)::date
        ) as snapshot_month
    from read_parquet('icb_nd_pathway/*/nd_referrals.parquet')
),

current_files as (
    select *
    from landed
    where snapshot_month + interval 1 month <= getvariable('as_of') + interval 1 day
    qualify _file_version = max(_file_version) over (partition by provider_ods_code, snapshot_month)
)

select
    upper(trim(provider_ods_code)) as provider,
    trim(referral_id) as referral_id,
    snapshot_month,
    (snapshot_month + interval 1 month - interval 1 day)::date as snapshot_date,
    upper(trim(local_authority_code)) as area_code,
    upper(trim(pathway)) as pathway,
    referral_received_date,
    first_contact_date,
    assessment_start_date,
    nullif(upper(trim(outcome)), '') as outcome,
    outcome_date,
    support_offered,
    support_offered_date,
    last_updated
from current_files
qualify row_number() over (
    partition by provider_ods_code, referral_id, snapshot_month
    order by last_updated desc, _source_row desc
) = 1;

-- Each referral's latest state; one missing from its provider's newest snapshot without an outcome
-- was deleted at the provider and counts nowhere.
create or replace temp table nd_referrals as
select
    *,
    coalesce(outcome_date, case when outcome is not null then snapshot_date end) as closed_date
from (
    select
        *,
        outcome is null
        and snapshot_month < max(snapshot_month) over (partition by provider) as is_deleted
    from nd_snapshots
    qualify row_number() over (
        partition by provider, referral_id order by snapshot_month desc, last_updated desc
    ) = 1
)
where not is_deleted;

create or replace temp table nd_waiting_bands as
with landed as (
    select
        *,
        coalesce(
            try_strptime(regexp_extract(_source_file, '_([0-9]{6})(_v[0-9]+)?\.csv$', 1), '%Y%m')::date,
            date_trunc('month', snapshot_date)::date
        ) as snapshot_month
    from read_parquet('icb_nd_pathway/*/nd_waiting_list.parquet')
),

current_files as (
    select *
    from landed
    where snapshot_month + interval 1 month <= getvariable('as_of') + interval 1 day
    qualify _file_version = max(_file_version) over (partition by provider_ods_code, snapshot_month)
)

select
    upper(trim(provider_ods_code)) as provider,
    snapshot_month,
    upper(trim(pathway)) as pathway,
    upper(trim(local_authority_code)) as area_code,
    trim(wait_band) in ('13-18', '18-52', '52-104', '104+') as is_over_13_weeks,
    trim(wait_band) in ('52-104', '104+') as is_over_52_weeks,
    waiting,
    with_support
from current_files
qualify row_number() over (
    partition by provider_ods_code, snapshot_month, pathway, local_authority_code, age_band, wait_band
    order by _source_row desc
) = 1;

-- Which provider served which LA's pathway when: from its first file row for it (either kind) to its
-- last, open-ended while the provider's newest file still carries one; a person-level provider must
-- send its snapshot for the month, an aggregate-only one its waiting list.
create or replace temp table nd_provider_months as
with carried as (
    select distinct provider, snapshot_month, area_code, pathway, true as person_level
    from nd_snapshots
    where area_code is not null
    union all
    select distinct provider, snapshot_month, area_code, pathway, false
    from nd_waiting_bands
    where area_code is not null
),

sent as (
    select distinct provider, snapshot_month, true as person_level from nd_snapshots
    union all
    select distinct provider, snapshot_month, false from nd_waiting_bands
),

newest as (
    select provider, max(snapshot_month) as newest_month from sent group by all
),

last_month as (
    select (date_trunc('month', getvariable('as_of') + 1) - interval 1 month)::date as last_month
),

windows as (
    select
        c.provider,
        c.area_code,
        c.pathway,
        bool_or(c.person_level) as ever_person_level,
        min(c.snapshot_month) as first_month,
        case
            when bool_or(c.snapshot_month = n.newest_month) then any_value(l.last_month)
            else max(c.snapshot_month)
        end as last_month
    from carried as c
    inner join newest as n on c.provider = n.provider
    cross join last_month as l
    group by all
)

select
    w.area_code,
    w.pathway,
    w.provider,
    m.period_start::date as period_start,
    w.ever_person_level,
    exists (
        select 1 from sent as s
        where s.provider = w.provider and s.snapshot_month = m.period_start and s.person_level
    ) as has_person_level,
    exists (
        select 1 from sent as s
        where s.provider = w.provider and s.snapshot_month = m.period_start and not s.person_level
    ) as has_aggregate
from windows as w
cross join unnest(range(w.first_month, w.last_month + interval 1 day, interval 1 month)) as m (period_start);

-- The person-level feed's months per LA and pathway: every serving provider delivered, and at least
-- one of them person-level.
create or replace temp table nd_feed_months as
select
    area_code,
    pathway,
    period_start,
    (period_start + interval 1 month - interval 1 day)::date as month_end
from nd_provider_months
where period_start + interval 1 month <= getvariable('as_of')
group by all
having
    bool_and(case when ever_person_level then has_person_level else has_aggregate end)
    and bool_or(has_person_level);

-- Each live referral against each month its provider sent a snapshot for, in the feed's months.
create or replace temp table nd_referral_months as
select
    r.area_code,
    r.pathway,
    r.provider,
    m.period_start,
    m.month_end,
    r.referral_received_date,
    r.first_contact_date,
    r.closed_date,
    r.referral_received_date <= m.month_end
    and coalesce(r.assessment_start_date > m.month_end, true)
    and coalesce(r.closed_date > m.month_end, true) as is_waiting,
    r.support_offered
    and coalesce(r.support_offered_date <= m.month_end, true) as has_support
from nd_referrals as r
inner join nd_feed_months as m on r.area_code = m.area_code and r.pathway = m.pathway
where exists (
    select 1 from nd_snapshots as s
    where s.provider = r.provider and s.snapshot_month = m.period_start
);

create or replace temp table nd_monthly as
with waiting_person_level as (
    select
        area_code,
        pathway,
        provider,
        period_start,
        count(*) as waiting,
        count(*) filter (where month_end - referral_received_date > 91) as over_13_weeks,
        count(*) filter (where month_end - referral_received_date > 364) as over_52_weeks,
        count(*) filter (where has_support) as with_support
    from nd_referral_months
    where is_waiting
    group by all
),

-- A provider without a person-level snapshot for the month counts from its waiting list.
waiting_aggregate as (
    select
        b.area_code,
        b.pathway,
        b.provider,
        b.snapshot_month as period_start,
        sum(b.waiting) as waiting,
        coalesce(sum(b.waiting) filter (where b.is_over_13_weeks), 0) as over_13_weeks,
        coalesce(sum(b.waiting) filter (where b.is_over_52_weeks), 0) as over_52_weeks,
        sum(b.with_support) as with_support
    from nd_waiting_bands as b
    inner join nd_feed_months as m
        on b.area_code = m.area_code and b.pathway = m.pathway and b.snapshot_month = m.period_start
    where not exists (
        select 1 from nd_snapshots as s
        where s.provider = b.provider and s.snapshot_month = b.snapshot_month
    )
    group by all
),

waiting as (
    select
        area_code,
        pathway,
        period_start,
        sum(waiting) as waiting,
        sum(over_13_weeks) as over_13_weeks,
        sum(over_52_weeks) as over_52_weeks,
        sum(with_support) as with_support
    from (
        select * from waiting_person_level
        union all
        select * from waiting_aggregate
    )
    group by all
),

median_wait as (
    select
        area_code,
        pathway,
        period_start,
        count(*) as waiting,
        median(month_end - referral_received_date) / 7 as weeks
    from nd_referral_months
    where is_waiting
    group by all
),

referrals as (
    select area_code, pathway, period_start, count(*) as referrals
    from nd_referral_months
    where date_trunc('month', referral_received_date) = period_start
    group by all
),

-- The 13-week first-contact clock resolves once: on time in the month of a contact by day 91, else
-- late in the month of day 91; a referral closed by day 91 without contact by then owed none, even
-- where a contact date after the closure is recorded (the platform counts that one late when the
-- closure falls in day 91's month: reported in issue 19's floor round).
first_contacts as (
    select
        area_code,
        pathway,
        period_start,
        count(*) filter (where first_contact_date <= referral_received_date + 91) as on_time,
        count(*) as resolved
    from nd_referral_months
    where
        case
            when first_contact_date <= referral_received_date + 91
                then date_trunc('month', first_contact_date) = period_start
            else
                date_trunc('month', referral_received_date + 91) = period_start
                and coalesce(closed_date > referral_received_date + 91, true)
        end
    group by all
),

kpis as (
    select
        m.area_code,
        m.pathway,
        m.period_start,
        unnest([
            {suffix: 'REFERRALS', numerator: coalesce(r.referrals, 0), denominator: null, value: null},
            {suffix: 'WAITING', numerator: coalesce(w.waiting, 0), denominator: null, value: null},
            {suffix: 'WAITING_13WK', numerator: coalesce(w.over_13_weeks, 0), denominator: null, value: null},
            {suffix: 'WAITING_52WK', numerator: coalesce(w.over_52_weeks, 0), denominator: null, value: null},
            {
                suffix: 'SUPPORT_WHILE_WAITING',
                numerator: coalesce(w.with_support, 0),
                denominator: coalesce(w.waiting, 0),
                value: null
            },
            {
                suffix: 'FIRST_CONTACT_13WK',
                numerator: coalesce(f.on_time, 0),
                denominator: coalesce(f.resolved, 0),
                value: null
            },
            {suffix: 'MEDIAN_WAIT_WEEKS', numerator: null, denominator: coalesce(d.waiting, 0), value: d.weeks}
        ]) as k
    from nd_feed_months as m
    left join waiting as w on m.area_code = w.area_code and m.pathway = w.pathway and m.period_start = w.period_start
    left join median_wait as d
        on m.area_code = d.area_code and m.pathway = d.pathway and m.period_start = d.period_start
    left join referrals as r
        on m.area_code = r.area_code and m.pathway = r.pathway and m.period_start = r.period_start
    left join first_contacts as f
        on m.area_code = f.area_code and m.pathway = f.pathway and m.period_start = f.period_start
)

select
    'ND_' || pathway || '_' || k.suffix as kpi_code,
    area_code,
    period_start,
    k.numerator::bigint as numerator,
    k.denominator::bigint as denominator,
    k.value::double as value
from kpis
where pathway in ('ASD', 'ADHD');

-- Every KPI per LA and covered month; is_state marks a month-end state (a count or figure at the
-- month's last day), the rest are flows (cases counted in the month they fell in).
create or replace temp table floor_monthly as
select
    m.*,
    k.kind in ('state', 'state_share', 'weeks') as is_state
from la_monthly as m
inner join la_kpis as k using (kpi_code)
union all
select
    *,
    kpi_code not like '%_REFERRALS' and kpi_code not like '%_FIRST_CONTACT_13WK' as is_state
from nd_monthly;

-- What the script read, for rows per second.
create or replace temp table floor_inputs as
select count(*) as rows_read from landed_requests
union all select count(*) from landed_assessments
union all select count(*) from landed_reviews
union all select count(*) from landed_advice
union all select count(*) from landed_allocations
union all select count(*) from landed_exceptions
union all select count(*) from landed_named_plans
union all select count(*) from landed_active_plans
union all select count(*) from landed_audits
union all select count(*) from landed_persons
union all select count(*) from landed_send_records
union all select count(*) from landed_post16
union all select count(*) from read_parquet('icb_nd_pathway/*/nd_referrals.parquet')
union all select count(*) from read_parquet('icb_nd_pathway/*/nd_waiting_list.parquet');

-- The result: flows as the summed monthly numerators and denominators per KPI, LA and calendar year
-- (period_start null); month-end states per KPI, LA and month (period_start set), with `value` for
-- the weeks KPIs (mean, longest, median).
create or replace table floor_kpis as
select
    kpi_code::varchar as kpi_code,
    area_code::varchar as area_code,
    year(period_start)::bigint as year,
    null::date as period_start,
    sum(numerator)::bigint as numerator,
    sum(denominator)::bigint as denominator,
    null::double as value
from floor_monthly
where not is_state
group by all
union all
select
    kpi_code::varchar,
    area_code::varchar,
    year(period_start)::bigint,
    period_start::date,
    numerator::bigint,
    denominator::bigint,
    value::double
from floor_monthly
where is_state;
