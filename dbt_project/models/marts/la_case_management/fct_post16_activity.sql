-- One row per recorded post-16 activity of a young person with a plan, with the school year
-- (academic age + 5) on the date it was confirmed.
select
    activities.area_code::varchar as area_code,
    activities.activity_id::varchar as activity_id,
    activities.person_key::varchar as person_key,
    activities.activity_date::date as activity_date,
    activities.activity_status::varchar as activity_status,
    activities.activity::varchar as activity,
    (activities.activity_status in ('NEET', 'NOT_KNOWN'))::boolean as is_neet_or_not_known,
    {{ la_case_management_school_year('persons.birth_month', 'activities.activity_date') }}::integer
        as school_year_at_activity
from {{ ref('stg_la_case_management__post16_activities') }} as activities
left join {{ ref('stg_la_case_management__persons') }} as persons
    on
        activities.area_code = persons.area_code
        and activities.person_key = persons.person_key
