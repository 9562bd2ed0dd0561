-- PAP milestone tracker per month and priority area: milestones by RAG status (BLUE complete, GREEN on
-- track, AMBER at risk, RED off track) from the month's workbook.
select
    period_start::date as period_start,
    priority_area::varchar as priority_area,
    count(*)::bigint as milestones,
    (count(*) filter (where rag_status = 'BLUE'))::bigint as blue_complete,
    (count(*) filter (where rag_status = 'GREEN'))::bigint as green_on_track,
    (count(*) filter (where rag_status = 'AMBER'))::bigint as amber_at_risk,
    (count(*) filter (where rag_status = 'RED'))::bigint as red_off_track,
    (count(*) filter (where rag_status in ('BLUE', 'GREEN')))::bigint as on_track_or_complete,
    (count(*) filter (where rag_status != 'BLUE' and due_date < period_start + interval 1 month))::bigint
        as due_not_complete
from {{ ref('stg_manual_returns__pap_milestones') }}
group by period_start, priority_area
