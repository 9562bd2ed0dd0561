-- Months the LA case-management feed covers per area: from the month of its first request received
-- (historical H rows migrated from earlier systems do not count, and never before var first_period)
-- to the last whole month the feed's data reaches. A run that read the feed (live) reaches its as-of
-- date; a run that found it stale reaches only its newest change; a blocked run (IG, access refused,
-- or its extract failed) reads nothing, so the data still reaches where the last read left it. Months
-- after that fall back (manual scorecard or missing) instead of being computed from what was loaded
-- before as if complete. Data loaded outside a pipeline run (no ledger) reaches the as-of date, the
-- rule kpi_values uses. Per LA: one LA's blocked database leaves the others' months as they are.
{{ config(tags=['every_run']) }}
with firsts as (
    select
        area_code,
        greatest(
            date_trunc('month', min(received_date)), date '{{ var("first_period") }}'
        )::date as first_period_start
    from {{ ref('stg_la_case_management__ehcp_requests') }}
    where decision_outcome != 'H'
    group by area_code
),

decisions as (
    select *
    from
        {{ ops_table(
            'feed_status',
            "null::varchar as feed, null::varchar as area_code, null::varchar as status, "
            ~ "null::date as as_of, null::date as newest_data"
        ) }}
    where feed = 'la_case_management'
),

-- Each LA's database is decided on its own (area_code); '' is a decision for every LA (ledgers from
-- before the extract was read per LA).
reach as (
    select
        coalesce(area_code, '') as area_code,
        max(case status when 'live' then as_of when 'stale' then newest_data end) as reaches
    from decisions
    group by all
)

select
    firsts.area_code,
    months.period_start::date as period_start
from firsts
left join reach as own on firsts.area_code = own.area_code
left join reach as every_area on every_area.area_code = ''
cross join
    unnest(
        range(firsts.first_period_start, date '{{ as_of_date() }}', interval 1 month)
    ) as months (period_start)
where
    months.period_start + interval 1 month
    <= least(
        case
            when own.area_code is not null then coalesce(own.reaches, date '{{ as_of_date() }}')
            when every_area.area_code is not null then coalesce(every_area.reaches, date '{{ as_of_date() }}')
            else date '{{ as_of_date() }}'
        end,
        date '{{ as_of_date() }}'
    )
