-- Each LA against its region and England on the DfE "Education, health and care plans" measures,
-- from the published rows of each file's `All ...` topic (totals; never summed across breakdowns, never
-- re-computed). One row per LA, measure and time period; rank 1 = the highest value among LAs.
{% set measures = [
    ('caseload', 'active_plans', 'ehcplans', 'count', 'Active EHC plans at the January census'),
    ('requests', 'requests_received', 'requests_received_in_year', 'count',
        'Requests for an EHC needs assessment received in the calendar year'),
    ('requests', 'requests_decided_within_6_weeks_pc', 'request_outcome_six_weeks_pc', 'percent',
        'Decisions whether to assess made within 6 weeks (%)'),
    ('timeliness_20_week', 'plans_issued', 'plans_issued_den', 'count', 'New EHC plans issued in the calendar year'),
    ('timeliness_20_week', 'plans_issued_within_20_weeks_pc', 'pc_plans_issued_within_20_weeks', 'percent',
        'New plans issued within 20 weeks, all cases (%)'),
    ('timeliness_20_week', 'plans_issued_within_20_weeks_ex_pc', 'pc_plans_issued_20_weeks_ex', 'percent',
        'New plans issued within 20 weeks, excluding exception cases (%)'),
    ('assessments', 'assessments_decided_within_time_pc', 'outcome_decision_within_time_pc', 'percent',
        'Decisions whether to issue a plan made within 16 weeks (%)'),
    ('annual_reviews', 'review_decisions_within_4_weeks_pc', 'pc_decsion_4weeks', 'percent',
        'Annual review decisions made within 4 weeks of the meeting (%)'),
    ('sen_needs_all_plans', 'primary_need_asd_pc', 'asd_pc', 'percent',
        'Active plans with autistic spectrum disorder as primary need (%)'),
] %}
with published as (
    {% for table_name, measure, column, unit, label in measures %}
        select
            '{{ measure }}' as measure,
            '{{ label }}' as measure_label,
            '{{ unit }}' as unit,
            time_period,
            time_identifier,
            period_label,
            period_start,
            geographic_level,
            geography_code,
            region_code,
            region_name,
            la_name,
            {{ column }}::double as measure_value
        from {{ ref('stg_dfe_ehcp_statistics__' ~ table_name) }}
        where is_total
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

las as (
    select * from published
    where geographic_level = 'LOCAL_AUTHORITY' and geography_code is not null
),

regions as (
    select * from published
    where geographic_level = 'REGIONAL'
),

england as (
    select * from published
    where geographic_level = 'NATIONAL'
)

select
    las.geography_code::varchar as area_code,
    las.la_name::varchar as la_name,
    las.measure::varchar as measure,
    las.measure_label::varchar as measure_label,
    las.unit::varchar as unit,
    las.time_period::varchar as time_period,
    las.time_identifier::varchar as time_identifier,
    las.period_label::varchar as period_label,
    las.period_start::date as period_start,
    las.measure_value::double as la_value,
    las.region_code::varchar as region_code,
    las.region_name::varchar as region_name,
    regions.measure_value::double as region_value,
    england.measure_value::double as england_value,
    (case when las.measure_value is not null then rank() over (
        partition by las.measure, las.time_period, las.measure_value is null order by las.measure_value desc
    ) end)::integer as la_rank,
    (count(las.measure_value) over (partition by las.measure, las.time_period))::integer as las_ranked
from las
left join regions
    on
        las.measure = regions.measure
        and las.time_period = regions.time_period
        and las.region_code = regions.region_code
left join england
    on
        las.measure = england.measure
        and las.time_period = england.time_period
