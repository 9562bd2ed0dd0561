-- Active EHC plans at January 2025 by primary need.
-- One row per time period, geography and breakdown as published.
{{ nd_dfe_tidy('sen_needs_all_plans') }}
