-- EHC needs assessments per calendar year, outcomes and decisions within time.
-- One row per time period, geography and breakdown as published.
{{ nd_dfe_tidy('assessments') }}
