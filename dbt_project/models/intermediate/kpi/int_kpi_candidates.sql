-- Every value a KPI could take for an area and month, one row per source that has it, ranked by
-- precedence: 1 person-level feed, 2 aggregate feed, 3 validated manual scorecard. kpi_values keeps
-- the first; kpi_reconciliation compares a feed with the manual figure it superseded.
with catalogue as (
    select * from {{ ref('kpi_definitions') }}
),

feed_periods as (
    select * from {{ ref('int_feed_periods') }}
),

feed_values as (
    select * from {{ ref('int_kpi_feed_values') }}
),

-- KPIs kept in hand-filled trackers (milestones, risks, surveys) are manual figures even though
-- they arrive as files.
ranked_sources as (
    select
        kpi_code,
        1 as rank,
        computing_feed as feed_source,
        case
            when computing_feed in ('pap_milestones', 'risk_register', 'survey_results') then 'manual'
            else 'feed'
        end as provenance
    from catalogue
    union all
    select
        kpi_code,
        2 as rank,
        aggregate_feed as feed_source,
        'aggregate_feed' as provenance
    from catalogue
    where coalesce(aggregate_feed, '') != ''
),

-- Inside a month the source covers (for this KPI, where it covers per KPI), a KPI without cases is a
-- true zero, whether or not the source has had a case for it yet: coverage, not history, decides.
automated as (
    select
        ranked_sources.kpi_code,
        feed_periods.area_code,
        feed_periods.period_start,
        ranked_sources.rank,
        ranked_sources.provenance,
        ranked_sources.feed_source,
        -- A source's row is taken as it is (a count has no denominator, a mean no numerator); a
        -- covered month without a row is a zero: 0 cases, or 0 of 0 (no rate).
        case
            when feed_values.kpi_code is not null then feed_values.numerator
            when catalogue.unit != 'weeks' then 0
        end as numerator,
        case
            when feed_values.kpi_code is not null then feed_values.denominator
            when catalogue.unit != 'count' then 0
        end as denominator,
        feed_values.value as stated_value
    from ranked_sources
    inner join catalogue on ranked_sources.kpi_code = catalogue.kpi_code
    inner join feed_periods
        on
            ranked_sources.feed_source = feed_periods.feed_source
            and coalesce(feed_periods.kpi_code, ranked_sources.kpi_code) = ranked_sources.kpi_code
    left join feed_values
        on
            ranked_sources.feed_source = feed_values.feed_source
            and ranked_sources.kpi_code = feed_values.kpi_code
            and feed_periods.area_code = feed_values.area_code
            and feed_periods.period_start = feed_values.period_start
),

manual as (
    select
        feed_values.kpi_code,
        feed_values.area_code,
        feed_values.period_start,
        3 as rank,
        'manual' as provenance,
        feed_values.feed_source,
        feed_values.numerator,
        feed_values.denominator,
        feed_values.value as stated_value
    from feed_values
    inner join catalogue on feed_values.kpi_code = catalogue.kpi_code
    where feed_values.feed_source = 'manual_scorecard' and catalogue.manual_allowed
),

candidates as (
    select * from automated
    union all
    select * from manual
)

select
    candidates.*,
    case
        when candidates.stated_value is not null then candidates.stated_value
        when catalogue.unit = 'percent' and candidates.denominator > 0
            then 100.0 * candidates.numerator / candidates.denominator
        when catalogue.unit = 'count' then candidates.numerator::double
    end as value
from candidates
inner join catalogue on candidates.kpi_code = catalogue.kpi_code
