-- Requests for EHC needs assessment received per calendar year, outcomes and 6-week decisions.
-- One row per time period, geography and breakdown as published.
{{ nd_dfe_tidy('requests') }}
