{#- The LA's own figures in the shape of the DfE "Education, health and care plans" release tables
    (models/marts/dfe_return/). The release's column order per table, and the pieces every
    dfe_return_* mart shares: the years the data covers with the census date each one is taken on,
    the LA's codes and names as the release writes them, percentages as the DfE rounds them. -#}

{#- The measure columns of each release file, in the file's order (after its twelve leading columns
    time_period ... breakdown). `annual_reviews.csv` carries `review_meeting_prior_24` twice with equal
    values; a table holds it once, as raw_dfe_ehcp_statistics does. Names (slips and mixed case
    included) as published. -#}
{% macro dfe_return_measures(table_name) %}
    {%- set measures = {
        'requests': [
            'requests_received_in_year', 'requests_rya', 'requests_decided_to_assess',
            'requests_decided_not_to_assess', 'requests_decision_not_made', 'requests_withdrawn',
            'request_assess_pc', 'request_not_assess_pc', 'request_outstanding_pc', 'request_withdrawn_pc',
            'request_outcome_six_weeks', 'request_outcome_over_6_weeks', 'request_outcome_six_weeks_pc',
            'request_outcome_over_6_weeks_pc', 'mediation_related_request', 'tribunal_related_request',
            'tribunal_after_mediation_request',
        ],
        'assessments': [
            'assess_in_year', 'assess_issued', 'assess_issued_pc', 'assess_not_issued', 'assess_not_issued_pc',
            'assess_not_made', 'assess_not_made_pc', 'assess_withdrawn', 'assess_withdrawn_pc',
            'outcome_decision_within_time', 'outcome_decision_over_time', 'outcome_decision_within_time_pc',
            'outcome_decision_over_time_pc', 'number_assess_mediation', 'number_assess_tribunal',
            'number_asssess_mediation_tribunal', 'number_other_mediation', 'number_other_tribunal',
            'number_other_mediation_tribunal',
        ],
        'timeliness_20_week': [
            'plans_issued_den', 'plans_issued_den_ex', 'plans_issued_within_20_weeks', 'plans_issued_20_weeks_ex',
            'pc_plans_issued_within_20_weeks', 'PC_plans_issued_20_weeks_ex', 'plans_issued_gt20weeks_ltYear',
            'plans_issued_gt20weeks_ltYear_ex', 'pc_plans_issued_gt20weeks_ltYear',
            'PC_plans_issued_gt20weeks_ltYear_ex', 'plans_issued_gt_1_year', 'plans_issued_gt_1_year_ex',
            'pc_plans_issued_gt_1_year', 'PC_plans_issued_gt_1_year_ex',
        ],
        'annual_reviews': [
            'total_ehc_plans', 'review_expected', 'review_not_expected', 'review_meeting_25', 'review_meeting_24',
            'review_meeting_prior_24', 'total_review_meeting', 'no_review_meeting', 'review_decision25',
            'review_decision24', 'review_decision_prior24', 'review_decision_not_due', 'review_decision_outstanding',
            'outcome_amend', 'outcome_cease', 'outcome_maintan', 'no_outcome', 'number_decsion_4weeks',
            'number_decision_gt_4weeks', 'pc_decsion_4weeks', 'pc_decision_gt_4weeks',
        ],
    } -%}
    {{- return(measures[table_name]) -}}
{% endmacro %}

{#- The `All ...` breakdown of each file: its breakdown_topic and breakdown (the same text). -#}
{% macro dfe_return_total_breakdown(table_name) %}
    {%- set totals = {
        'requests': 'All requests for EHC needs assessments',
        'assessments': 'All EHC needs assessments',
        'timeliness_20_week': 'All EHC plans issued',
        'annual_reviews': 'All annual reviews',
    } -%}
    {{- return(totals[table_name]) -}}
{% endmacro %}

{#- SEN2 census reference date closing calendar year `year_expression`: the third Thursday of the
    following January (isodow 4; synthetic/calibration.py census_date says the same). -#}
{% macro dfe_return_census_date(year_expression) -%}
    (
        make_date(({{ year_expression }}) + 1, 1, 1)
        + to_days(((4 - isodow(make_date(({{ year_expression }}) + 1, 1, 1)) + 7) % 7) + 14)
    )::date
{%- endmacro %}

{#- One row per area and calendar year the LA case-management data covers, from the months the feed
    covers (int_feed_periods__la_case_management: whole months up to where the data reaches): a year
    whose January is covered and whose months run on without a gap. `period_end` is 31 December or,
    in the year the data stops, the last day of its last covered month; `census_date` the day outcomes
    are taken on: the SEN2 census closing the year once the data reaches it (`is_complete_year`),
    else `period_end` (the year to date, `time_identifier` 'Calendar year to date'). -#}
{% macro dfe_return_periods() %}
    with covered as (
        select
            area_code,
            period_start
        from {{ ref('int_feed_periods__la_case_management') }}
    ),

    reach as (
        select
            area_code,
            (max(period_start) + interval 1 month - interval 1 day)::date as data_reaches
        from covered
        group by area_code
    ),

    years as (
        select
            area_code,
            year(period_start) as calendar_year,
            count(*) as months_covered,
            min(period_start) as first_month,
            max(period_start) as last_month
        from covered
        group by area_code, year(period_start)
    )

    select
        years.area_code,
        years.calendar_year,
        make_date(years.calendar_year, 1, 1) as period_start,
        least(make_date(years.calendar_year, 12, 31), reach.data_reaches) as period_end,
        reach.data_reaches >= {{ dfe_return_census_date('years.calendar_year') }} as is_complete_year,
        least({{ dfe_return_census_date('years.calendar_year') }}, reach.data_reaches) as census_date,
        case
            when reach.data_reaches >= {{ dfe_return_census_date('years.calendar_year') }} then 'Calendar year'
            else 'Calendar year to date'
        end as time_identifier
    from years
    inner join reach
        on years.area_code = reach.area_code
    where
        years.first_month = make_date(years.calendar_year, 1, 1)
        and years.months_covered = month(years.last_month)
{% endmacro %}

{#- The LA's codes and names as the release writes them, from its newest Local authority row for the
    area in any of the four calendar-year files; one row per area found there. -#}
{% macro dfe_return_release_identity() %}
    {%- set tables = ['requests', 'assessments', 'timeliness_20_week', 'annual_reviews'] -%}
    with release_rows as (
        {% for table_name in tables %}
            select
                geography_code,
                calendar_year,
                country_code,
                region_code,
                region_name,
                new_la_code,
                old_la_code,
                la_name
            from {{ ref('stg_dfe_ehcp_statistics__' ~ table_name) }}
            where geographic_level = 'LOCAL_AUTHORITY' and geography_code is not null
            {% if not loop.last %}union all{% endif %}
        {% endfor %}
    )

    select *
    from release_rows
    qualify
        row_number() over (
            partition by geography_code order by calendar_year desc nulls last, old_la_code, la_name
        ) = 1
{% endmacro %}

{#- The twelve leading columns of a release table for the LA's row of one year (`periods` p, the
    release identity i joined on the area), as the DfE writes them. -#}
{% macro dfe_return_leading_columns(table_name) -%}
    p.calendar_year::varchar as time_period,
    p.time_identifier::varchar as time_identifier,
    'Local authority'::varchar as geographic_level,
    coalesce(i.country_code, 'E92000001')::varchar as country_code,
    'England'::varchar as country_name,
    i.region_code::varchar as region_code,
    i.region_name::varchar as region_name,
    coalesce(i.new_la_code, p.area_code)::varchar as new_la_code,
    i.old_la_code::varchar as old_la_code,
    i.la_name::varchar as la_name,
    '{{ dfe_return_total_breakdown(table_name) }}'::varchar as breakdown_topic,
    '{{ dfe_return_total_breakdown(table_name) }}'::varchar as breakdown
{%- endmacro %}

{#- The platform's columns after the release's: the period counted and the day outcomes are taken on. -#}
{% macro dfe_return_trailing_columns() -%}
    p.area_code::varchar as area_code,
    p.period_start::date as period_start,
    p.period_end::date as period_end,
    p.census_date::date as census_date,
    p.is_complete_year::boolean as is_complete_year
{%- endmacro %}

{#- A percentage as the DfE publishes it: one decimal place, null (the release's `x`) when the
    denominator is zero. -#}
{% macro dfe_return_pc(numerator, denominator) -%}
    round(100.0 * ({{ numerator }}) / nullif({{ denominator }}, 0), 1)::double
{%- endmacro %}

{#- A count of an optional source item (three-valued: true, false, null where not recorded) among the
    cases that pass `where`: the cases where it is true, or null when no such case has it recorded at
    all (a source that does not carry the item gives no figure, never a zero). -#}
{% macro dfe_return_count_recorded(item, where='true') -%}
    (case
        when count({{ item }}) filter (where {{ where }}) > 0
            then count(*) filter (where ({{ where }}) and {{ item }})
    end)::bigint
{%- endmacro %}
