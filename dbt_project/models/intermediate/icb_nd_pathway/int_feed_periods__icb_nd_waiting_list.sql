-- Placeholder with the interface's columns until the model is built.
select
    null::varchar as area_code,
    null::date as period_start
where false
