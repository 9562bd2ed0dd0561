{#-
    Primary key: no key column is null and no key combination repeats, checked in one scan (one
    group by over the key), so a model needs this one test instead of a not_null test per key column
    plus unique_combination. Hand-written because dbt packages cannot be fetched on an offline install.
    One failing row per bad key: `problem` says what is wrong ('null in <column>', 'duplicate key,
    <n> rows', joined by '; ' when both), then the key values and n_rows. Rows whose key holds a null
    group together like any other key (as in unique_combination). Portable SQL (DuckDB, Postgres).

    `written_at` (an incremental model's column: when the build that wrote the row started): only
    the keys of rows written since the last complete pipeline build are checked, with every row
    holding them: that build passed this test on every row before it, and a key can only repeat or
    lose a part through rows written since. The last complete pipeline build is the newest `dbt build`
    with a plan id that ops.dbt_builds records as complete (macros/build_log.sql): after a failed build
    the pipeline builds the whole project, so rows a failed or hand-run build wrote are checked again
    until a planned build passes. No such build yet, or every row written since: the whole table.
    (The month ends: 40 M rows at national, 7.5 s of a daily build for the whole table, on the way
    to every LA KPI.)
-#}
{% test primary_key(model, columns, written_at=none) %}
{%- set row_key %}{% for column in columns %}rows_.{{ column }}{{ ', ' if not loop.last }}{% endfor %}{% endset %}
with
{%- if written_at %}
builds as (
    select
        min(rows_.{{ written_at }}) as oldest,
        (
            select max(ledger.started_at)
            from {{ ops_table('dbt_builds', 'null::timestamptz as started_at, null::varchar as status, null::varchar as command, null::varchar as plan_id') }} as ledger
            where ledger.status = 'complete' and ledger.command = 'build' and ledger.plan_id != ''
        ) as passed_at
    from {{ model }} as rows_
),

-- Empty when every row is newer than that build: then the first branch below checks them all.
unchecked_keys as (
    select distinct {{ row_key }}
    from {{ model }} as rows_
    cross join builds
    where rows_.{{ written_at }} > builds.passed_at and builds.oldest <= builds.passed_at
),

checked as (
    select {{ row_key }}
    from {{ model }} as rows_
    cross join builds
    where builds.passed_at is null or builds.oldest > builds.passed_at

    union all

    select {{ row_key }}
    from {{ model }} as rows_
    where exists (
        select 1
        from unchecked_keys
        where
            {%- for column in columns %}
            {% if not loop.first %}and {% endif %}rows_.{{ column }} is not distinct from unchecked_keys.{{ column }}
            {%- endfor %}
    )
),
{%- endif %}

key_counts as (
    select {{ columns | join(', ') }}, count(*) as n_rows
    from {{ 'checked' if written_at else model }}
    group by {{ columns | join(', ') }}
)

select
    concat_ws('; ',
        {%- for column in columns %}
        case when {{ column }} is null then 'null in {{ column }}' end,
        {%- endfor %}
        case when n_rows > 1 then 'duplicate key, ' || cast(n_rows as varchar(20)) || ' rows' end
    ) as problem,
    {{ columns | join(', ') }}, n_rows
from key_counts
where n_rows > 1
    {%- for column in columns %} or {{ column }} is null{% endfor %}
{% endtest %}
