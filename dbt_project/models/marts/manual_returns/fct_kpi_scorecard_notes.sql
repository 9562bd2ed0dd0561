-- The commentary submitted with the manual KPI scorecard: who submitted it, when, and their note, per KPI,
-- area and month (the current version of each scorecard file; catalogue KPIs only). The intake rejected
-- any note with an identifier typed into it. The partnership's scorecard shows it; the public one never.
select
    s.kpi_code::varchar as kpi_code,
    s.area_code::varchar as area_code,
    s.period_start::date as period_start,
    s.submitted_by::varchar as submitted_by,
    s.submitted_on::date as submitted_on,
    nullif(trim(s.evidence_note), '')::varchar as evidence_note
from {{ ref('stg_manual_returns__kpi_scorecard_rows') }} as s
inner join {{ ref('kpi_definitions') }} as d on s.kpi_code = d.kpi_code
where s.period_start is not null
