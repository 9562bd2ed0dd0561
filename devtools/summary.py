"""A short text summary of the published KPIs and of where they were published, for the demo and for a
quick look after a run."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from orchestration.settings import Settings

REPORTING_SCHEMA = "send_reporting"  # warehouse/publish.py Targets.postgres_schema


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
              and provenance <> 'missing' and area_type = 'la'
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
            where provenance <> 'missing' and area_type = 'la'
            qualify period_start = max(period_start) over ()
            order by kpi_code, area_code
            """
        ).fetchall()
        coverage = con.execute(
            """
            select provenance, count(distinct kpi_code)
            from marts.kpi_values
            where period_start = (select max(period_start) from marts.kpi_values) and area_type = 'la'
            group by provenance order by provenance
            """
        ).fetchall()
        localities = con.execute(
            "select count(distinct area_code), count(distinct kpi_code) from marts.kpi_values "
            "where area_type = 'locality'"
        ).fetchone()
        run = con.execute(
            "select run_id, status, checks_run, checks_failed from ops.pipeline_runs order by recorded_at desc limit 1"
        ).fetchone()
    width = max([12, *(len(row[1]) + 2 for row in [*yearly, *latest])])  # LA codes and locality codes
    lines = [
        "Calendar-year headline KPIs (20 weeks: plans issued in the year, DfE method):",
        f"  {'kpi':<30}{'area':<{width}}{'year':<6}{'months':>7}{'on time':>9}{'of':>8}{'%':>7}",
    ]
    for kpi, area, year, num, den, pct, months in yearly:
        shown = "-" if pct is None else pct
        lines.append(f"  {kpi:<30}{area:<{width}}{year:<6}{months:>7}{num:>9}{den:>8}{shown:>7}")
    lines.append("Latest month, every KPI with a source (the missing ones are explicit rows in kpi_values):")
    for kpi, area, month, value, rag, provenance in latest:
        shown = "-" if value is None else f"{value:.1f}"
        lines.append(f"  {kpi:<30}{area:<{width}}{month:<10}{shown:>8}  {rag or '':<6}{provenance}")
    lines.append("KPI catalogue coverage, latest month: " + ", ".join(f"{n} {p}" for p, n in coverage))
    if localities[0]:
        lines.append(
            f"Per locality too: {localities[1]} LA KPIs for each of {localities[0]} localities "
            "(marts.kpi_values where area_type = 'locality')"
        )
    if run:
        lines.append(f"Run {run[0]}: {run[1]}, {run[2]} data-quality checks, {run[3]} failed")
    return "\n".join(lines)


def publication_summary(settings: Settings, reporting_url: str | None, reporting_note: str) -> str:
    """Where the marts were published, each target checked by reading it back."""
    published = settings.published_path
    with duckdb.connect(str(published), read_only=True) as con:
        tables = con.execute("select count(*) from duckdb_tables() where not internal").fetchall()[0][0]
        columns, undescribed = con.execute(
            "select count(*), count(*) filter (where description_source = 'missing') from marts.data_dictionary"
        ).fetchall()[0]
    parquet = settings.parquet_dir
    lines = [
        "Published (BI tools connect read-only; how: docs/bi.md):",
        f"  DuckDB file      {published} ({tables} tables in marts and ops; DuckDB 1.0 or later opens it)",
    ]
    if parquet.is_symlink():
        lines.append(f"  Parquet folder   {parquet}/<schema>/<table>.parquet (now {os.readlink(parquet)})")
    lines.append(f"  PostgreSQL       {_postgres_line(reporting_url, reporting_note, settings.reporting_reader_role)}")
    lines.append(
        f"  Data dictionary  {published.parent / 'data_dictionary.md'} (and .csv; table marts.data_dictionary): "
        f"{columns} columns, {undescribed} not yet described in the dbt docs"
    )
    lines.append(f"  Board scorecard  {_scorecard_line(settings)}")
    return "\n".join(lines)


def _scorecard_line(settings: Settings) -> str:
    site = settings.scorecard_dir
    if not (site / "index.html").is_file():
        return "not built: see the build_scorecard task in the Airflow log"
    packs = sorted(site.resolve().glob("*/*/board-pack.pdf"))
    printed = f"{len(packs)} PDF board packs (<edition>/<LA>/board-pack.pdf)" if packs else "no PDF (no Chromium)"
    return f"{site / 'index.html'} (open in any browser, no server; {printed})"


def _postgres_line(url: str | None, note: str, reader_role: str | None) -> str:
    """What is in the reporting schema now, read back; or why nothing was published there."""
    if not url:
        return f"skipped: {note}; set AIRFLOW_CONN_SEND_REPORTING (or start PostgreSQL) to publish there"
    import sqlalchemy as sa

    shown = sa.make_url(url).render_as_string(hide_password=True)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            tables = conn.exec_driver_sql(
                "select count(*) from information_schema.tables where table_schema = %s", (REPORTING_SCHEMA,)
            ).scalar()
            kpis = conn.exec_driver_sql(f"select count(*) from {REPORTING_SCHEMA}.kpi_values").scalar()
    except Exception as error:  # noqa: BLE001 - reported, not raised: the other targets are published
        return f"schema {REPORTING_SCHEMA} in {shown}: not readable ({type(error).__name__})"
    finally:
        engine.dispose()
    role = f"; read-only role {reader_role} (BI logins are members of it)" if reader_role else ""
    return f"schema {REPORTING_SCHEMA} in {shown}: {tables} tables, kpi_values {kpis:,} rows{role}"
