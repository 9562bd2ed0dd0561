-- Active EHC plans at the January census by type of setting (academic years 201819-202425).
-- One row per time period, geography and breakdown as published.
{{ nd_dfe_tidy('caseload') }}
