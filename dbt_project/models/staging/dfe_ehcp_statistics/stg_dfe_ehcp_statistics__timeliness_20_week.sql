-- Plans issued per calendar year within 20 weeks, 20-52 weeks and over a year (with _ex: excluding exception cases).
-- One row per time period, geography and breakdown as published.
{{ nd_dfe_tidy('timeliness_20_week') }}
