"""How fast and how lean the platform is, from one LA to all of England (`make bench`).

    python -m bench.pipeline --scales lancashire,region,national --repeat 3

For each scale the synthetic sources are generated once (or reused with `--keep-sources`), then the
platform's stages run with the functions the DAG tasks call (no Airflow scheduler in the way), each
stage in its own process so its wall time and peak memory are its own: extract (LA databases in
parallel, one process per core, as an extract task mapped over LA connections would run), land (file
intake of the ICB, manual and DfE feeds), load, `dbt build` (subprocess, as the DAG's single build
task runs the whole project), the Soda gate, publish (end to end: these, the marts published) and the
board scorecard after them (pages and PDF board packs; `--no-scorecard` leaves it out). Short scales
run the pipeline `--repeat` times from an empty warehouse and report medians; `national` runs once. In
the same run a hand-written DuckDB script (bench/floor.sql) computes every feed-computed KPI straight from
the landed Parquet: the platform's end-to-end time is reported as a multiple of it, and its published
`marts.kpi_values` must equal the floor's figures.

Then, on each scale of `--incremental` (default `lancashire`) just loaded, the LA sources are
regenerated one day later and the daily incremental run is timed against the full rebuild, then again
the day after (`--days`, default 2: as of 31 October, the first day completes a month, the second does
not); last, the DAG folder parse time.

Peak memory: `ru_maxrss` of the stage's process tree (the largest single process, from wait4) and
the largest sampled sum of RSS over the tree (psutil, every 0.1 s). Figures go to stdout and
`.local/bench/pipeline.json`, with the load average before and after each stage: the machine is
shared, so other work running at the same time slows the figures down.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import platform
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psutil

from orchestration.settings import DBT_PRODUCTION_FLAGS, DBT_PROJECT_DIR, REPO_ROOT, Settings

BENCH_DIR = REPO_ROOT / ".local" / "bench"
FLOOR_SQL = Path(__file__).with_name("floor.sql")
DFE_RELEASE = REPO_ROOT.parent / "shared" / "reference" / "dfe_ehcp_2025"
STATISTICAL_NEIGHBOURS = REPO_ROOT.parent / "shared" / "reference" / "statistical_neighbours"
AS_OF = dt.date(2026, 10, 31)
SEED = 42
PIPELINE_STAGES = ("extract", "land", "load", "dbt_build", "soda", "publish", "scorecard")
# End to end is what publishes the marts (extract -> publish); the scorecard, built from them after, is
# timed beside it (at national it prints 306 board packs) and can be left out (--no-scorecard).
MARTS_STAGES = PIPELINE_STAGES[:-1]
TARGETS = {
    "national_end_to_end_s": 120,
    "national_peak_mb": 4096,
    "national_incremental_s": 30,
    "lancashire_incremental_s": 10,
    "national_floor_ratio": 5,
    "parse_s": 1,
}


# --- Stages: each runs in a child process (`--stage`) ------------------------------------------------


def workspace_env(workspace: Path) -> dict[str, str]:
    data = workspace / "data"
    key_path = BENCH_DIR / "pseudonymisation.key"  # a throwaway key for synthetic data only
    if not key_path.exists():
        key_path.parent.mkdir(parents=True, exist_ok=True)
        key_path.write_text(secrets.token_hex(32))
    return {
        "SEND_DATA_DIR": str(data),
        "SEND_INBOX_DIR": str(workspace / "drop"),
        "SEND_DFE_RELEASE_DIR": str(DFE_RELEASE),
        "SEND_STATISTICAL_NEIGHBOURS_DIR": str(STATISTICAL_NEIGHBOURS),
        "SEND_WAREHOUSE_BUILD_PATH": str(data / "warehouse" / "build.duckdb"),
        "SEND_PSEUDONYMISATION_KEY": key_path.read_text().strip(),
        "SEND_INBOX_SETTLE_SECONDS": "0",  # the sources are generated moments before they are read
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DO_NOT_TRACK": "1",
        "SODA_CORE_TELEMETRY_ENABLED": "false",
        # The PDF board packs need a Chromium; without one the scorecard stage times the pages alone.
        **({} if shutil.which("chromium") else {"SEND_SCORECARD_PDF": "0"}),
    }


def source_url(workspace: Path) -> str:
    return f"sqlite:///{workspace / 'source' / 'la_{area_code}.sqlite'}"


def run_stage(name: str, workspace: Path, scale: str, as_of: dt.date, run_id: str) -> dict:
    """The body of one stage, in this process. Returns counts (never row content)."""
    import duckdb

    settings = Settings.from_env()
    key = os.environ["SEND_PSEUDONYMISATION_KEY"].encode()
    if name == "generate":
        from synthetic.generator import generate_all

        (workspace / "source").mkdir(parents=True, exist_ok=True)
        summary = generate_all(scale, SEED, as_of, source_url(workspace), workspace / "drop", progress=False)
        return {"rows": sum(summary.la_rows.values()) + summary.file_rows, "la_rows": sum(summary.la_rows.values())}
    if name == "generate_la":  # the LA databases only, as the source looks a day later
        from synthetic.la_case_management import generate

        generate(source_url(workspace), scale, SEED, as_of=as_of)
        return {"rows": 0}
    if name == "floor":
        return run_floor(settings.landing_dir, as_of, workspace / "floor.parquet")
    if name == "dbt_build":
        return run_dbt(settings, as_of, run_id, workspace)
    from ingestion import landing, registry
    from orchestration import feed_access, steps

    def quiet(decisions, kpis) -> bool:  # no data owner to tell in a benchmark
        return False

    manifests_file = workspace / f"manifests__{run_id}.json"
    if name == "extract":  # every database feed: one source per LA, read in parallel
        paths = []
        for feed in (f for f in registry.feeds() if f.kind == "database"):
            paths += _extract_areas(feed.name, scale, as_of, run_id, settings, key, workspace, quiet)
        _add_manifests(manifests_file, paths)
        return {"rows": sum(landing.read_manifest(Path(p)).rows_in for p in paths), "batches": len(paths)}
    if name == "land":  # every file feed, as the DAG's extract tasks land them
        paths = []
        for feed in (f for f in registry.feeds() if f.kind == "files"):
            path = steps.extract(feed.name, feed_access.SourceRun(feed.name, as_of, run_id), settings, key, quiet)
            paths += [str(path)] if path else []
        _add_manifests(manifests_file, paths)
        return {"rows": sum(landing.read_manifest(Path(p)).rows_in for p in paths)}
    if name == "load":
        held = json.loads(manifests_file.read_text()) if manifests_file.exists() else []
        by_feed = {f: [Path(p) for p in held if landing.read_manifest(Path(p)).feed == f] for f in registry.names()}
        rows = 0
        for feed, manifests in by_feed.items():
            # A feed that landed nothing still gets its raw tables.
            rows += steps.load(feed, feed_access.SourceRun(feed, as_of, run_id), settings, manifests, quiet)
        return {"rows": rows}
    if name == "soda":
        summary = steps.verify(settings, run_id, as_of)
        with duckdb.connect(str(settings.build_path), read_only=True) as con:
            return {"rows": _raw_rows(con), "checks": summary["checks"]}
    if name == "publish":
        published = steps.publish(settings, run_id, as_of, checks=0, reporting_url=None)
        return {"rows": sum(published["tables"].values()), "tables": len(published["tables"])}
    if name == "scorecard":  # every LA's pages in both editions, and the PDF board packs when Chromium is here
        built = steps.build_scorecard(settings)
        return {"rows": built["pages"], "pdfs": built["pdfs"]}
    raise ValueError(f"unknown stage {name}")


def _extract_areas(feed_name, scale, as_of, run_id, settings, key, workspace, notify) -> list[str]:
    """A database feed over every LA of the scale: the IG register consulted once, then each LA's
    source read by the feed's own read function, one process per core (as an extract task mapped over
    LA connections would run: each streams in chunks, so memory per worker is flat). The build
    warehouse is opened by this process only: DuckDB has one writer."""
    import duckdb

    from ingestion import load, registry
    from ingestion.feed import ReadRequest
    from orchestration import feed_access
    from synthetic.scales import SCALES

    feed = registry.feed(feed_name)
    run = feed_access.SourceRun(feed_name, as_of, run_id)
    settings.build_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.build_path)) as con:
        allowed, blocked = feed_access.register_decisions(run)
        feed_access.block(con, run, blocked, notify)
        requests = [
            ReadRequest(
                feed=feed,
                location=source_url(workspace).replace("{area_code}", area_code),
                landing_dir=settings.landing_dir,
                key=key,
                run_id=f"{run_id}__{area_code}",
                as_of=as_of,
                known=load.known(con, feed_name, area_code),
                tables=feed.tables_of(allowed),
                area_code=area_code,
            )
            for area_code in (SCALES[scale].areas() if allowed else [])
        ]
    workers = min(os.cpu_count() or 1, len(requests))
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            return list(pool.map(_read, requests))
    return [_read(request) for request in requests]


def _read(request) -> str:
    return str(request.feed.reader()(request))


def _add_manifests(path: Path, paths: list[str]) -> None:
    held = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(held + paths))


def _raw_rows(con) -> int:
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema like 'raw_%' and table_type = 'BASE TABLE'"
    ).fetchall()
    return sum(con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables)


def run_dbt(settings: Settings, as_of: dt.date, run_id: str, workspace: Path) -> dict:
    """The DAG's dbt step: the build plan (what changed since the last complete build, or the whole
    project), then `dbt build` of it (here as a subprocess; the private target path keeps dbt's
    partial-parse state between runs, as Cosmos's cache does)."""
    import duckdb

    from orchestration import steps

    planned = steps.plan_build(settings, run_id, as_of)
    target = workspace / "dbt_target"  # private: other work in the checkout uses dbt_project/target
    build = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "build",
            *DBT_PRODUCTION_FLAGS,
            "--select",
            planned["select"],
            "--target-path",
            str(target),
            "--log-path",
            str(workspace / "dbt_logs"),
            "--quiet",
        ],
        cwd=DBT_PROJECT_DIR,
        env={
            **os.environ,
            "SEND_AS_OF": as_of.isoformat(),
            "SEND_RUN_ID": run_id,
            "SEND_BUILD_PLAN": planned["plan_id"],
        },
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{build.stdout[-4000:]}\n{build.stderr[-2000:]}")
    with duckdb.connect(str(settings.build_path), read_only=True) as con:
        rows = _raw_rows(con)
    shutil.copy(target / "run_results.json", workspace / f"run_results__{run_id}.json")
    nodes = len(json.loads((target / "run_results.json").read_text())["results"])
    return {"rows": rows, "nodes": nodes, "plan": planned["reason"]}


def run_floor(landing_dir: Path, as_of: dt.date, out: Path) -> dict:
    """bench/floor.sql over the landed Parquet, in-memory DuckDB, relative paths from the landing folder."""
    import duckdb

    script = FLOOR_SQL.read_text()
    cwd = Path.cwd()
    os.chdir(landing_dir)
    try:
        started = time.perf_counter()
        con = duckdb.connect()
        # The platform's memory budget (issue 19: 4 GB). Unbounded, the floor held 13.9 GB at national
        # (52 s; 60 s within 4 GB); beyond the limit DuckDB spills beside the result.
        con.execute("set memory_limit = '4GB'")
        con.execute(f"set temp_directory = '{out.parent / 'floor.tmp'}'")
        con.execute(f"set variable as_of = date '{as_of.isoformat()}'")
        con.execute(script)
        script_seconds = time.perf_counter() - started
        con.execute(f"copy floor_kpis to '{out}' (format parquet)")
        rows = con.execute("select sum(rows_read) from floor_inputs").fetchone()[0]
    finally:
        os.chdir(cwd)
    return {"rows": int(rows or 0), "script_seconds": round(script_seconds, 3)}


# --- Measurement: a child process per stage ---------------------------------------------------------


def measure(name: str, workspace: Path, scale: str, as_of: dt.date, run_id: str) -> dict:
    """Run one stage in a child process; wall time, peak RSS, load average before and after."""
    result_path = workspace / f"stage__{name}.json"
    result_path.unlink(missing_ok=True)
    env = {**os.environ, **workspace_env(workspace)}
    cmd = [sys.executable, "-m", "bench.pipeline", "--stage", name, "--workspace", str(workspace)]
    cmd += ["--scales", scale, "--as-of", as_of.isoformat(), "--run-id", run_id, "--result", str(result_path)]
    load_before = os.getloadavg()
    started = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, cwd=REPO_ROOT)
    tree_peak = 0
    status = usage = None
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        tree_peak = max(tree_peak, _tree_rss(child.pid))
        time.sleep(0.1)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, not by Popen
    if child.returncode != 0:
        raise RuntimeError(f"stage {name} ({scale}, {run_id}) failed with exit {child.returncode}")
    counts = json.loads(result_path.read_text())
    rows = counts.get("rows", 0)
    # ru_maxrss of a reaped child covers it and its reaped descendants: the largest single process (KiB).
    return {
        "stage": name,
        "seconds": round(wall, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "peak_tree_rss_mb": round(max(tree_peak, usage.ru_maxrss * 1024) / 2**20, 1),
        "rows": rows,
        "rows_per_second": round(rows / wall) if wall and rows else None,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        **{k: v for k, v in counts.items() if k != "rows"},
    }


def _tree_rss(pid: int) -> int:
    try:
        parent = psutil.Process(pid)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _size_mb(path: Path) -> float:
    if path.is_file():
        return round(path.stat().st_size / 2**20, 1)
    if not path.exists():
        return 0.0
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def pipeline_run(workspace: Path, scale: str, as_of: dt.date, run_id: str, scorecard: bool = True) -> dict:
    names = PIPELINE_STAGES if scorecard else MARTS_STAGES
    stages = [measure(name, workspace, scale, as_of, run_id) for name in names]
    floor = measure("floor", workspace, scale, as_of, run_id)
    data = workspace / "data"
    return {
        "run_id": run_id,
        "stages": stages,
        "end_to_end_s": round(sum(s["seconds"] for s in stages if s["stage"] in MARTS_STAGES), 3),
        "peak_rss_mb": max(s["peak_rss_mb"] for s in stages),
        "peak_tree_rss_mb": max(s["peak_tree_rss_mb"] for s in stages),
        "floor": floor,
        "kpi_check": compare_with_floor(workspace),
        "sizes_mb": {
            "landing": _size_mb(data / "landing"),
            "build_warehouse": _size_mb(data / "warehouse" / "build.duckdb"),
            "published_duckdb": _size_mb(data / "published" / "send.duckdb"),
            "published_parquet": _size_mb(data / "published" / "parquet"),
        },
    }


def compare_with_floor(workspace: Path) -> dict:
    """The published kpi_values (LA rows the feeds computed) against the floor's figures: every row must
    match. Flows (cases counted in the month they fell in) compare as monthly numerators and
    denominators summed per LA and calendar year. Month-end states (waiting lists, open cases, active
    plans, overdue counts, coverage) compare month by month, numerator and denominator exactly, since a
    sum of month-end states over a year would hide offsetting errors; the weeks KPIs (mean weeks to
    issue, longest open wait, median ND wait) also compare their `value` (a double: equal to 1e-9)
    with its denominator, the cases it is over."""
    import duckdb

    published = workspace / "data" / "published" / "send.duckdb"
    con = duckdb.connect()
    con.execute(f"attach '{published}' as pub (read_only)")
    con.execute(f"create table floor as select * from read_parquet('{workspace / 'floor.parquet'}')")
    con.execute("create table kinds as select distinct kpi_code, period_start is not null as is_state from floor")
    con.execute(
        """
        create table platform as
        with published as (
            select v.*, k.is_state
            from pub.marts.kpi_values as v
            inner join kinds as k using (kpi_code)
            where v.provenance = 'feed' and v.area_type = 'la'
        )

        select kpi_code, area_code, year(period_start) as year, null::date as period_start,
            sum(numerator) as numerator, sum(denominator) as denominator, null::double as value
        from published
        where not is_state
        group by all
        union all
        select kpi_code, area_code, year(period_start), period_start, numerator, denominator,
            -- the weeks KPIs carry their figure in value, numerator null
            case when numerator is null then value end
        from published
        where is_state
        """
    )
    # An LA whose feed the last run found stale or blocked falls back after its newest data (the IG
    # rules, which the floor does not model): its LA-feed figures are left out and named.
    fell_back = [
        r[0]
        for r in con.execute(
            "select distinct area_code from pub.ops.feed_status where feed = 'la_case_management' "
            "and status != 'live' and area_code != '' "
            "and run_id = (select max_by(run_id, recorded_at) from pub.ops.pipeline_runs) order by 1"
        ).fetchall()
    ]
    mismatches = con.execute(
        """
        select
            coalesce(p.kpi_code, f.kpi_code) as kpi_code, coalesce(p.area_code, f.area_code) as area_code,
            coalesce(p.year, f.year) as year, coalesce(p.period_start, f.period_start) as period_start,
            p.numerator as platform_numerator, f.numerator as floor_numerator,
            p.denominator as platform_denominator, f.denominator as floor_denominator,
            p.value as platform_value, f.value as floor_value
        from platform as p
        -- a flow's period_start is null on both sides: null never equals null in a join
        full join floor as f
            on p.kpi_code = f.kpi_code and p.area_code = f.area_code and p.year = f.year
            and p.period_start is not distinct from f.period_start
        where (
                p.numerator is distinct from f.numerator
                or p.denominator is distinct from f.denominator
                or (p.value is null) != (f.value is null)
                or abs(p.value - f.value) > 1e-9
            )
            and not (
                list_contains($fell_back, coalesce(p.area_code, f.area_code))
                and not starts_with(coalesce(p.kpi_code, f.kpi_code), 'ND_')
            )
        order by all
        """,
        {"fell_back": fell_back},
    ).fetchall()
    compared = con.execute("select count(*) from floor").fetchone()[0]
    headline = con.execute(
        """
        select kpi_code, year, sum(numerator), sum(denominator)
        from floor
        where kpi_code in ('EHCP_20WK_ALL', 'EHCP_DECISION_6WK', 'AR_DECISION_4WK') and year between 2023 and 2025
        group by all order by all
        """
    ).fetchall()
    return {
        "rows_compared": compared,
        "kpis_compared": con.execute("select count(*) from kinds").fetchone()[0],
        "equal": not mismatches,
        "mismatches": [list(map(_plain, m)) for m in mismatches[:20]],
        "mismatch_count": len(mismatches),
        "mismatched_kpis": sorted({m[0] for m in mismatches}),
        "la_feed_fell_back": fell_back,
        "headline_all_areas": [
            {"kpi": k, "year": y, "numerator": int(n), "denominator": int(d), "percent": round(100 * n / d, 1)}
            for k, y, n, d in headline
            if d
        ],
    }


def _plain(value):
    if value is None or isinstance(value, int | str | float):
        return value
    return value.isoformat() if isinstance(value, dt.date) else int(value)


def median_run(runs: list[dict]) -> dict:
    """Per stage, the median over runs of time, and the maximum of peak memory."""
    stages = []
    for i, name in enumerate(s["stage"] for s in runs[0]["stages"]):
        seconds = [r["stages"][i]["seconds"] for r in runs]
        wall = statistics.median(seconds)
        rows = runs[-1]["stages"][i]["rows"]
        stages.append(
            {
                "stage": name,
                "seconds": round(wall, 3),
                "all_seconds": seconds,
                "peak_rss_mb": max(r["stages"][i]["peak_rss_mb"] for r in runs),
                "peak_tree_rss_mb": max(r["stages"][i]["peak_tree_rss_mb"] for r in runs),
                "rows": rows,
                "rows_per_second": round(rows / wall) if rows and wall else None,
            }
        )
    floor = [r["floor"]["seconds"] for r in runs]
    return {
        "stages": stages,
        "end_to_end_s": round(statistics.median(r["end_to_end_s"] for r in runs), 3),
        "floor_s": round(statistics.median(floor), 3),
        "floor_all_seconds": floor,
    }


def bench_scale(scale: str, repeat: int, as_of: dt.date, keep_sources: bool = False, scorecard: bool = True) -> dict:
    workspace = BENCH_DIR / scale
    marker = workspace / "generated.json"  # the sources held and how long generating them took
    wanted = {"scale": scale, "seed": SEED, "as_of": as_of.isoformat(), "generator": _generator_digest()}
    held = json.loads(marker.read_text()) if marker.exists() else {}
    if keep_sources and held.get("sources") == wanted:
        generate = held["generate"]
        print(f"\n== {scale}: reusing the sources generated as of {as_of} (in {generate['seconds']:.0f}s)")
        for child in workspace.iterdir():
            if child.is_dir() and child.name not in ("source", "drop"):
                shutil.rmtree(child)
            elif child.is_file() and child != marker:
                child.unlink()
    else:
        shutil.rmtree(workspace, ignore_errors=True)
        workspace.mkdir(parents=True)
        print(f"\n== {scale}: generating sources as of {as_of} ...", flush=True)
        generate = measure("generate", workspace, scale, as_of, "generate")
        marker.write_text(json.dumps({"sources": wanted, "generate": generate}))
        print(_row(generate), flush=True)
    runs = []
    for n in range(1, repeat + 1):
        shutil.rmtree(workspace / "data", ignore_errors=True)  # every run from an empty warehouse
        run = pipeline_run(workspace, scale, as_of, f"bench__{scale}__{n}", scorecard)
        runs.append(run)
        print(f"-- run {n}/{repeat}: end to end {run['end_to_end_s']:.1f}s, floor {run['floor']['seconds']:.1f}s")
        for stage in [*run["stages"], run["floor"]]:
            print(_row(stage), flush=True)
        check = run["kpi_check"]
        fell_back = ", ".join(check["la_feed_fell_back"])
        print(
            f"   KPIs equal to the floor: {check['equal']} ({check['rows_compared']} rows: LA x KPI x year or month"
            + (f"; {check['mismatch_count']} differ, e.g. {check['mismatches'][:3]}" if not check["equal"] else "")
            + (f"; LA feed fell back, left out: {fell_back}" if fell_back else "")
            + ")",
            flush=True,
        )
    summary = median_run(runs)
    end_to_end = summary["end_to_end_s"]
    loading = sum(s["seconds"] for s in summary["stages"] if s["stage"] in ("load", "dbt_build", "soda", "publish"))
    return {
        "scale": scale,
        "repeat": repeat,
        "generate": generate,
        "runs": runs,
        "median": summary,
        "end_to_end_with_generation_s": round(end_to_end + generate["seconds"], 3),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "peak_tree_rss_mb": max(r["peak_tree_rss_mb"] for r in runs),
        "ratio_to_floor": round(end_to_end / summary["floor_s"], 1),
        "warehouse_ratio_to_floor": round(loading / summary["floor_s"], 1),
        "kpis_equal_floor": all(r["kpi_check"]["equal"] for r in runs),
        "sizes_mb": runs[-1]["sizes_mb"],
    }


def _generator_digest() -> str:
    """Sources are only reused when the generator's code is unchanged."""
    digest = hashlib.sha256()
    for path in sorted((REPO_ROOT / "synthetic").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def bench_incremental(full: dict, as_of: dt.date, day: int = 1, scorecard: bool = True) -> dict:
    """The `day`th day of new and changed source rows on top of the scale just loaded (and the days
    before it), against the full rebuild. A day that completes a month (as of the 1st) builds that
    month's month-end rows for every plan: the dearest day of the month for the month-end models."""
    scale, workspace = full["scale"], BENCH_DIR / full["scale"]
    next_day = as_of + dt.timedelta(days=day)
    month_turn = next_day.day == 1
    kind = "a month completed" if month_turn else "within the month"
    print(f"\n== {scale} incremental day {day} ({kind}): the source regenerated as of {next_day}", flush=True)
    (workspace / "generated.json").unlink(missing_ok=True)  # the LA sources move on a day
    regenerate = measure("generate_la", workspace, scale, next_day, "generate_la")
    run_id = f"bench__{scale}__incremental" + (f"_{day}" if day > 1 else "")
    run = pipeline_run(workspace, scale, next_day, run_id, scorecard)
    for stage in [regenerate, *run["stages"], run["floor"]]:
        print(_row(stage), flush=True)
    print(f"   KPIs equal to the floor after the incremental run: {run['kpi_check']['equal']}", flush=True)
    return {
        "scale": scale,
        "day": day,
        "as_of": next_day.isoformat(),
        "month_turn": month_turn,
        "regenerate_source": regenerate,
        "run": run,
        "end_to_end_s": run["end_to_end_s"],
        "full_rebuild_s": full["median"]["end_to_end_s"],
        "ratio_to_full": round(run["end_to_end_s"] / full["median"]["end_to_end_s"], 2),
    }


def bench_dag_parse(repeat: int) -> dict:
    """DagBag of dags/ in a fresh process (Airflow import included, as a dag-processor pays it) and the
    bag fill alone, median of `repeat`."""
    home = BENCH_DIR / "airflow"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__COSMOS__CACHE_DIR": str(BENCH_DIR / "cosmos"),
    }
    code = (
        "import time, json; t0 = time.perf_counter()\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "import sys; t1 = time.perf_counter(); bag = DagBag(dag_folder=sys.argv[1]); t2 = time.perf_counter()\n"
        "print(json.dumps({'dags': len(bag.dags), 'errors': len(bag.import_errors), "
        "'import_airflow_s': t1 - t0, 'parse_s': t2 - t1}))"
    )
    cmd = [sys.executable, "-c", code, str(REPO_ROOT / "dags")]
    results = []
    for _ in range(repeat):
        started = time.perf_counter()
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        figures["process_s"] = time.perf_counter() - started
        results.append(figures)
    return {
        "dags": results[-1]["dags"],
        "import_errors": results[-1]["errors"],
        "parse_s": round(statistics.median(r["parse_s"] for r in results), 3),
        "import_airflow_s": round(statistics.median(r["import_airflow_s"] for r in results), 3),
        "process_s": round(statistics.median(r["process_s"] for r in results), 3),
    }


def _row(stage: dict) -> str:
    rate = f"{stage['rows_per_second']:>10,} rows/s" if stage.get("rows_per_second") else " " * 17
    return (
        f"   {stage['stage']:<12} {stage['seconds']:>8.2f}s {rate}  peak {stage['peak_rss_mb']:>7.0f} MB "
        f"(tree {stage['peak_tree_rss_mb']:>6.0f} MB)  load {stage['load_average_before'][0]:.1f}"
        f"->{stage['load_average_after'][0]:.1f}"
        + (f"  dbt: {stage['nodes']} nodes ({stage['plan']})" if "plan" in stage else "")
    )


def print_summary(report: dict) -> None:
    print("\n== summary (medians; seconds; peak = largest single process, tree = sampled sum over the stage)")
    header = f"{'scale':<11}" + "".join(f"{s:>11}" for s in ("generate", *PIPELINE_STAGES))
    print("(end to end: extract -> publish, the marts published; the scorecard after it, beside)")
    print(header + f"{'end to end':>12}{'floor':>8}{'ratio':>7}{'peak MB':>9}{'KPIs=':>7}")
    for result in report["scales"]:
        stages = {s["stage"]: s["seconds"] for s in result["median"]["stages"]}
        print(
            f"{result['scale']:<11}{result['generate']['seconds']:>11.1f}"
            + "".join(f"{stages[s]:>11.1f}" if s in stages else f"{'-':>11}" for s in PIPELINE_STAGES)
            + f"{result['median']['end_to_end_s']:>12.1f}{result['median']['floor_s']:>8.2f}"
            + f"{result['ratio_to_floor']:>6.0f}x{result['peak_tree_rss_mb']:>9.0f}{str(result['kpis_equal_floor']):>7}"
        )
    for inc in report.get("incrementals", []):
        day = f"day {inc.get('day', 1)}, as of {inc['as_of']}" + (", month completed" if inc.get("month_turn") else "")
        print(f"incremental {inc['scale']} ({day}): {inc['end_to_end_s']:.1f}s, full {inc['full_rebuild_s']:.1f}s")
    if report.get("dag_parse"):
        parse = report["dag_parse"]
        print(
            f"DAG folder parse: {parse['parse_s']:.2f}s ({parse['dags']} DAGs; importing Airflow "
            f"{parse['import_airflow_s']:.2f}s more, whole process {parse['process_s']:.2f}s)"
        )
    print(f"load average at start {report['load_average_start']}, at end {report['load_average_end']}")
    print("the machine is shared: other processes running meanwhile slow these figures (see load averages)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="lancashire,region")
    parser.add_argument("--repeat", type=int, default=3, help="pipeline runs per scale (national: always 1)")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=AS_OF)
    parser.add_argument("--no-incremental", action="store_true")
    parser.add_argument("--incremental", default="lancashire", help="scales given a daily incremental run")
    parser.add_argument(
        "--days", type=int, default=2, help="daily runs in a row (as of 31 October, the first completes a month)"
    )
    parser.add_argument("--no-scorecard", action="store_true", help="time the marts only, not the scorecard after")
    parser.add_argument(
        "--keep-sources", action="store_true", help="reuse a scale's sources generated earlier (same seed, as-of)"
    )
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "pipeline.json")
    # A child process running one stage:
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--workspace", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        counts = run_stage(args.stage, args.workspace, args.scales, args.as_of, args.run_id)
        args.result.write_text(json.dumps(counts, default=str))
        return

    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    report = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)},
        "python": platform.python_version(),
        "as_of": args.as_of.isoformat(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "scales": [],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report["dag_parse"] = bench_dag_parse(3)
    for scale in scales:
        scorecard = not args.no_scorecard
        repeat = 1 if scale == "national" else args.repeat
        result = bench_scale(scale, repeat, args.as_of, args.keep_sources, scorecard)
        report["scales"].append(result)
        if scale in args.incremental.split(",") and not args.no_incremental:  # on top of the scale just loaded
            for day in range(1, args.days + 1):
                report.setdefault("incrementals", []).append(bench_incremental(result, args.as_of, day, scorecard))
        args.out.write_text(json.dumps(report, indent=2, default=str))  # partial figures survive a stop
    report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    report["targets"] = TARGETS
    report["self_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print_summary(report)
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
