-- Placeholder with the interface's columns until the model is built.
select
    null::varchar as kpi_code,
    null::varchar as area_code,
    null::date as period_start,
    null::bigint as numerator,
    null::bigint as denominator,
    null::double as value
where false
