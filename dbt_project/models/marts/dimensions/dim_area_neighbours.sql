-- Each LA's ten statistical neighbours (DfE children's services model, 2025 refresh), one row per LA
-- and neighbour: the long form of dim_area.neighbour_area_codes, for BI tools that cannot read lists.
-- Codes are the platform's area codes (the DfE release's new_la_code): the list's ONS codes are
-- translated where the release kept an older one (seed la_code_aliases).
with neighbours as (
    select * from {{ ref('stg_statistical_neighbours__neighbours') }}
),

aliases as (
    select * from {{ ref('la_code_aliases') }}
)

select
    coalesce(la_alias.dfe_code, neighbours.la_code)::varchar as area_code,
    neighbours.la_code::varchar as gss_code,
    neighbours.la_name::varchar as area_name,
    neighbours.neighbour_rank::integer as neighbour_rank,
    coalesce(neighbour_alias.dfe_code, neighbours.neighbour_code)::varchar as neighbour_area_code,
    neighbours.neighbour_code::varchar as neighbour_gss_code,
    neighbours.neighbour_name::varchar as neighbour_name,
    neighbours.closeness_band::varchar as closeness_band,
    neighbours.closeness_order::integer as closeness_order,
    neighbours.refresh_year::integer as refresh_year
from neighbours
left join aliases as la_alias
    on neighbours.la_code = la_alias.gss_code
left join aliases as neighbour_alias
    on neighbours.neighbour_code = neighbour_alias.gss_code
