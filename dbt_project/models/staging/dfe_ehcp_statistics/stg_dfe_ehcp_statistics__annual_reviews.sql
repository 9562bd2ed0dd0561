-- Annual reviews in 2024: expected, held, decisions, outcomes, decisions within 4 weeks.
-- One row per time period, geography and breakdown as published.
{{ nd_dfe_tidy('annual_reviews') }}
