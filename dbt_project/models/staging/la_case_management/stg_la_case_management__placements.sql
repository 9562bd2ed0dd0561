-- Current state of each setting named in a plan (SEN2 PlacementDetail).
select
    area_code,
    plac_placement_id as placement_id,
    plac_active_ehcp_id as active_plan_id,
    plac_urn as school_urn,
    plac_ukprn as provider_ukprn,
    plac_sen_setting as sen_setting,
    plac_setting_group as setting_group,
    plac_placement_rank::integer as placement_rank,
    coalesce(plac_sen_unit = '1', false) as is_sen_unit,
    coalesce(plac_resourced_provision = '1', false) as is_resourced_provision,
    plac_residential as residential_type,
    plac_work_based as work_based_type,
    plac_entry_date as entry_date,
    plac_leaving_date as leaving_date,
    last_modified_at
from ({{ la_case_management_newest('send_placements', 'plac_placement_id') }})
