-- One row per EHC plan with its span in force, primary need and current (or last) main setting.
{{ config(tags=['every_run']) }}
with spans as (
    select * from {{ ref('int_ehcp_plan_spans') }}
),

primary_needs as (
    select * from {{ ref('stg_la_case_management__sen_needs') }}
    where need_rank = 1
    qualify row_number() over (partition by area_code, active_plan_id order by sen_need_id desc) = 1
),

main_settings as (
    select * from {{ ref('stg_la_case_management__placements') }}
    where placement_rank = 1
    qualify row_number() over (partition by area_code, active_plan_id order by entry_date desc, placement_id desc) = 1
)

select
    spans.area_code::varchar as area_code,
    spans.named_plan_id::varchar as named_plan_id,
    spans.active_plan_id::varchar as active_plan_id,
    spans.request_id::varchar as request_id,
    spans.person_key::varchar as person_key,
    spans.start_date::date as start_date,
    spans.ceased_date::date as ceased_date,
    spans.ceased_reason::varchar as ceased_reason,
    spans.transfer_la_code::varchar as transfer_la_code,
    spans.last_review_date::date as last_review_date,
    (spans.ceased_date is null or spans.ceased_date > date '{{ as_of_date() }}')::boolean as is_active_at_as_of,
    primary_needs.need_type::varchar as primary_need_type,
    main_settings.setting_group::varchar as main_setting_group
from spans
left join primary_needs
    on
        spans.area_code = primary_needs.area_code
        and spans.active_plan_id = primary_needs.active_plan_id
left join main_settings
    on
        spans.area_code = main_settings.area_code
        and spans.active_plan_id = main_settings.active_plan_id
