"""A short text summary of the published KPIs, for the demo and for a quick look after a run."""

from __future__ import annotations

from pathlib import Path

import duckdb


def kpi_summary(published_path: Path, years: int = 3) -> str:
    with duckdb.connect(str(published_path), read_only=True) as con:
        yearly = con.execute(
            """
            select kpi_code, area_code, year(period_start) as year,
                   sum(numerator) as numerator, sum(denominator) as denominator,
                   round(100.0 * sum(numerator) / nullif(sum(denominator), 0), 1) as pct,
                   count(distinct period_start) as months
            from marts.kpi_values
            where kpi_code in ('EHCP_20WK_ALL', 'EHCP_20WK_EXCL', 'EHCP_DECISION_6WK', 'AR_DECISION_4WK')
              and provenance <> 'missing'
              and year(period_start) > (select max(year(period_start)) from marts.kpi_values) - $years
            group by kpi_code, area_code, year
            order by kpi_code, area_code, year
            """,
            {"years": years},
        ).fetchall()
        latest = con.execute(
            """
            select kpi_code, area_code, strftime(period_start, '%b %Y'), value, rag, provenance
            from marts.kpi_values
            where provenance <> 'missing'
            qualify period_start = max(period_start) over ()
            order by kpi_code, area_code
            """
        ).fetchall()
        coverage = con.execute(
            """
            select provenance, count(distinct kpi_code)
            from marts.kpi_values
            where period_start = (select max(period_start) from marts.kpi_values)
            group by provenance order by provenance
            """
        ).fetchall()
        run = con.execute(
            "select run_id, status, checks_run, checks_failed from ops.pipeline_runs order by recorded_at desc limit 1"
        ).fetchone()
    lines = [
        "Calendar-year headline KPIs (20 weeks: plans issued in the year, DfE method):",
        f"  {'kpi':<30}{'area':<12}{'year':<6}{'months':>7}{'on time':>9}{'of':>8}{'%':>7}",
    ]
    for kpi, area, year, num, den, pct, months in yearly:
        shown = "-" if pct is None else pct
        lines.append(f"  {kpi:<30}{area:<12}{year:<6}{months:>7}{num:>9}{den:>8}{shown:>7}")
    lines.append("Latest month, every KPI with a source (the missing ones are explicit rows in kpi_values):")
    for kpi, area, month, value, rag, provenance in latest:
        shown = "-" if value is None else f"{value:.1f}"
        lines.append(f"  {kpi:<30}{area:<12}{month:<10}{shown:>8}  {rag or '':<6}{provenance}")
    lines.append("KPI catalogue coverage, latest month: " + ", ".join(f"{n} {p}" for p, n in coverage))
    if run:
        lines.append(f"Run {run[0]}: {run[1]}, {run[2]} data-quality checks, {run[3]} failed")
    return "\n".join(lines)
