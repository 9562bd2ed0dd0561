-- The KPI catalogue, published for BI tools (definitions, units, targets, which feed computes it).
select
    kpi_code::varchar as kpi_code,
    kpi_name::varchar as kpi_name,
    priority_area::varchar as priority_area,
    definition::varchar as definition,
    numerator_definition::varchar as numerator_definition,
    denominator_definition::varchar as denominator_definition,
    unit::varchar as unit,
    direction::varchar as direction,
    target::double as target,
    amber_threshold::double as amber_threshold,
    computing_feed::varchar as computing_feed,
    nullif(aggregate_feed, '')::varchar as aggregate_feed,
    manual_allowed::boolean as manual_allowed,
    owner::varchar as owner
from {{ ref('kpi_definitions') }}
