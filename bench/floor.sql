-- The floor: the platform's headline KPIs computed by hand in one DuckDB script, straight from the
-- landed Parquet (no raw tables, no dbt, no checks, no publication). bench/pipeline.py times it next
-- to the platform and asserts that marts.kpi_values holds the same figures.
--
-- Run from the landing folder (paths are relative to it) after `set variable as_of = date '...'`.
-- Rules mirrored from the dbt models (their yml descriptions):
--   * rejected rows are not in the landed files (the extract writes them to *.rejects.parquet);
--   * the current row of a key is its newest landed version (last_modified_at, then the newest batch);
--   * keys missing from the latest full reconciliation's key list of the LA are deleted at source;
--   * a month counts only inside the LA feed's months: from its first new request (never before
--     var first_period, 2021-01) to the last whole month ending on or before as_of;
--   * 20 weeks: plans issued (outcome Y with a date) in the month, received -> issued <= 140 days;
--     6 weeks: Y / N decisions with a date, received -> decision <= 42 days; annual-review 4 weeks:
--     every review meeting in the month of its deadline (meeting + 28 days), decided or not, on time
--     when decided on or before the deadline (a pending decision is late);
--   * ND waiting over 13 weeks: children on the ASD and ADHD pathways waiting at the month end for
--     more than 91 days, from each provider's person-level snapshot where it sent one, else its
--     aggregate wait bands (13-18 weeks and above); latest file version per provider and month; at
--     the last month every provider of the LA delivered (the platform's feed months).

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
    months.period_start::date as period_start
from firsts
cross join unnest(range(firsts.first_month, getvariable('as_of'), interval 1 month)) as months (period_start)
where months.period_start + interval 1 month <= getvariable('as_of');

create or replace temp table la_events as
select
    'EHCP_20WK_ALL' as kpi_code,
    a.area_code,
    date_trunc('month', a.ehca_ehcp_assessment_outcome_date)::date as period_start,
    datediff('day', r.ehcr_ehcp_req_date, a.ehca_ehcp_assessment_outcome_date) <= 140 as on_time
from assessments as a
inner join requests as r
    on a.area_code = r.area_code and a.ehca_ehcp_request_id = r.ehcr_ehcp_request_id
where
    a.ehca_ehcp_assessment_outcome = 'Y'
    and a.ehca_ehcp_assessment_outcome_date is not null
    and r.ehcr_ehcp_req_date is not null
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
select
    'AR_DECISION_4WK',
    area_code,
    date_trunc('month', anre_meeting_date + 28)::date,
    coalesce(anre_decision_date <= anre_meeting_date + 28, false)
from reviews
where anre_meeting_date is not null;

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
    assessment_start_date,
    nullif(upper(trim(outcome)), '') as outcome,
    outcome_date,
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
    waiting
from current_files
qualify row_number() over (
    partition by provider_ods_code, snapshot_month, pathway, local_authority_code, age_band, wait_band
    order by _source_row desc
) = 1;

create or replace temp table nd_waiting as
with person_level_months as (
    select distinct
        provider,
        snapshot_month,
        snapshot_date
    from nd_snapshots
),

person_level as (
    select
        r.area_code,
        m.provider,
        m.snapshot_month as period_start,
        count(*) filter (where m.snapshot_date - r.referral_received_date > 91) as over_13_weeks
    from nd_referrals as r
    inner join person_level_months as m
        on
            r.provider = m.provider
            and r.referral_received_date <= m.snapshot_date
            and coalesce(r.assessment_start_date > m.snapshot_date, true)
            and coalesce(r.closed_date > m.snapshot_date, true)
    where r.pathway in ('ASD', 'ADHD') and r.area_code is not null
    group by all
),

aggregate_only as (
    select
        b.area_code,
        b.provider,
        b.snapshot_month as period_start,
        coalesce(sum(b.waiting) filter (where b.is_over_13_weeks), 0) as over_13_weeks
    from nd_waiting_bands as b
    where
        b.pathway in ('ASD', 'ADHD')
        and not exists (
            select 1 from person_level_months as m
            where m.provider = b.provider and m.snapshot_month = b.snapshot_month
        )
    group by all
)

select
    area_code,
    period_start,
    sum(over_13_weeks) as over_13_weeks
from (
    select * from person_level
    union all
    select * from aggregate_only
)
group by all;

-- A month counts for an LA only when complete: every provider that ever sent the LA person-level
-- data sent that month's snapshot, every aggregate-only provider its waiting list (else the platform
-- falls back to the manual scorecard), and it is a whole month ending on or before as_of.
create or replace temp table nd_complete_months as
with served as (
    select distinct provider, area_code, true as person_level from nd_snapshots where area_code is not null
    union all
    select distinct provider, area_code, false from nd_waiting_bands
),

providers as (
    select provider, area_code, bool_or(person_level) as ever_person_level
    from served
    group by all
),

sent as (
    select distinct provider, snapshot_month, true as person_level from nd_snapshots
    union all
    select distinct provider, snapshot_month, false from nd_waiting_bands
),

months as (
    select distinct snapshot_month from sent
)

select
    p.area_code,
    m.snapshot_month as period_start
from providers as p
cross join months as m
left join sent as pl on p.provider = pl.provider and m.snapshot_month = pl.snapshot_month and pl.person_level
left join sent as ag on p.provider = ag.provider and m.snapshot_month = ag.snapshot_month and not ag.person_level
where m.snapshot_month + interval 1 month <= getvariable('as_of')
group by all
having
    bool_and(case when p.ever_person_level then pl.provider is not null else ag.provider is not null end)
    and bool_or(pl.provider is not null);

-- What the script read, for rows per second.
create or replace temp table floor_inputs as
select count(*) as rows_read from landed_requests
union all select count(*) from landed_assessments
union all select count(*) from landed_reviews
union all select count(*) from read_parquet('icb_nd_pathway/*/nd_referrals.parquet')
union all select count(*) from read_parquet('icb_nd_pathway/*/nd_waiting_list.parquet');

-- The result: per KPI, LA and calendar year the summed monthly numerators and denominators; ND
-- waiting over 13 weeks at each LA's last month end (year null).
create or replace table floor_kpis as
select
    e.kpi_code::varchar as kpi_code,
    e.area_code::varchar as area_code,
    year(e.period_start)::bigint as year,
    count(*) filter (where e.on_time)::bigint as numerator,
    count(*)::bigint as denominator
from la_events as e
inner join feed_months as m on e.area_code = m.area_code and e.period_start = m.period_start
group by all
union all
select
    'ND_WAITING_13WK',
    area_code,
    null,
    over_13_weeks::bigint,
    null
from nd_waiting
where (area_code, period_start) in (select (area_code, period_start) from nd_complete_months)
qualify period_start = max(period_start) over (partition by area_code);
