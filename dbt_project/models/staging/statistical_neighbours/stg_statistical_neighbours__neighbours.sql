-- Each LA's ten statistical neighbours, from the newest refresh of the model (the year in the file's
-- name) and, of a file corrected under the same name, its newest version: one row per LA and rank.
with landed as (
    select * from {{ source('statistical_neighbours', 'neighbours') }}
    qualify
        _source_file = max(_source_file) over ()
        and _file_version = max(_file_version) over (partition by _source_file)
),

banded as (
    select
        *,
        -- SN_prox landed trimmed and upper-cased (`CLOSE`, published `Close `): back to the published wording.
        upper(left(trim(sn_prox), 1)) || lower(substr(trim(sn_prox), 2)) as band
    from landed
)

select
    trim(la_code) as la_code,
    trim(la_name) as la_name,
    cast(trim(sn) as integer) as neighbour_rank,
    trim(sn_code) as neighbour_code,
    trim(sn_name) as neighbour_name,
    band as closeness_band,
    case band
        when 'Extremely close' then 1
        when 'Very close' then 2
        when 'Close' then 3
        when 'Somewhat close' then 4
        when 'Not close' then 5
    end as closeness_order,
    try_cast(regexp_extract(_source_file, '([0-9]{4})', 1) as integer) as refresh_year
from banded
