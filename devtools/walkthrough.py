"""The information-governance walk-through of the demo (and of its integration test): five monthly
runs of the real DAG on one warehouse while the ICB feed is live, suspended in the register, refused
at run time, stale, and back again. Each run prints which KPIs changed provenance.

Providers and teams deliver month by month: the generated files wait in a drop folder and each run's
inbox receives the files of the months before its date, as they would have arrived.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from ingestion import registry
from orchestration import ig_register
from orchestration.settings import Settings

ICB = "icb_nd_pathway"
ICB_FEEDS = tuple(a.name for a in registry.feed(ICB).agreements)
_PERIOD = re.compile(r"_(?P<year>[0-9]{4})-?(?P<month>[0-9]{2})(_v[0-9]+)?\.(csv|xlsx)$")
_WAVE = re.compile(r"_(?P<year>[0-9]{4})-(?P<season>SPRING|AUTUMN)\.csv$")


@dataclass(frozen=True)
class Scenario:
    name: str
    months_before: int  # the run's date, in months before the final as-of date
    icb_delivers: bool = True  # do the providers send the month's files?
    register: dict[str, dict] = field(default_factory=dict)  # changes to the IG register entries
    icb_access_denied: bool = False  # the ICB landing area refuses the platform's account
    env: dict[str, str] = field(default_factory=dict)  # what the run sees otherwise (an LA's database down)


SCENARIOS = (
    Scenario("every feed live", 4),
    Scenario(
        "ICB feed suspended in the IG register", 3, register={feed: {"status": "suspended"} for feed in ICB_FEEDS}
    ),  # fmt: skip
    Scenario("ICB landing area answers access denied", 2, icb_access_denied=True),
    Scenario("ICB feed stale: the providers sent nothing new", 1, icb_delivers=False),
    Scenario("ICB feed back: the missed months arrive", 0),
)


@dataclass
class Outcome:
    scenario: Scenario
    logical_date: dt.date
    provenance: dict[str, str]  # KPI -> provenance in the run's latest complete month
    period: dt.date
    notices: list[dict]
    pct_automated: float
    reconciled: int  # KPI-months where a feed and a manual scorecard both hold a value
    run_id: str  # the run that published what the outcome reads


def file_month(name: str) -> dt.date | None:
    """First day of the month a delivered file describes (survey waves: April and October)."""
    if found := _WAVE.search(name):
        return dt.date(int(found["year"]), 4 if found["season"] == "SPRING" else 10, 1)
    if found := _PERIOD.search(name):
        return dt.date(int(found["year"]), int(found["month"]), 1)
    return None


def deliver(drop: Path, inbox: Path, before: dt.date) -> int:
    """Copy the files describing months before `before`'s month into the inbox; a file whose name
    says nothing (a misnamed delivery) arrives at once, to be quarantined."""
    inbox.mkdir(parents=True, exist_ok=True)
    copied = 0
    for path in sorted(drop.iterdir()):
        month = file_month(path.name)
        if (month is None or month < before.replace(day=1)) and not (inbox / path.name).exists():
            shutil.copy2(path, inbox / path.name)
            copied += 1
    return copied


def run_scenarios(
    env: dict[str, str],
    drop_dir: Path,
    final: dt.date,
    log_path: Path,
    echo=print,
    scenarios: tuple[Scenario, ...] = SCENARIOS,
    check: bool = True,
) -> list[Outcome]:
    """Run each scenario's DAG run in turn; with check=False a failed run is read like a good one (a test
    of a failure after publish)."""
    settings = Settings.from_env(env)
    outcomes: list[Outcome] = []
    for scenario in scenarios:
        logical = _months_before(final, scenario.months_before)
        deliver(drop_dir / "manual_returns", settings.inbox("manual_returns"), logical)
        if scenario.icb_delivers:
            deliver(drop_dir / ICB, settings.inbox(ICB), logical)
        run_env = {**env, **scenario.env, "SEND_IG_REGISTER_PATH": str(_register_for(scenario, settings.data_dir))}
        outcome = _run(scenario, logical, run_env, settings, log_path, check)
        previous = outcomes[-1] if outcomes else None
        outcomes.append(outcome)
        echo(describe(outcome, previous))
    return outcomes


def describe(outcome: Outcome, previous: Outcome | None) -> str:
    lines = [
        f"- {outcome.scenario.name} (run of {outcome.logical_date}, KPIs of {outcome.period:%B %Y}): "
        f"{outcome.pct_automated:.0f}% of KPIs automated"
    ]
    if previous is not None:
        changed = {
            kpi: (previous.provenance.get(kpi), source)
            for kpi, source in outcome.provenance.items()
            if previous.provenance.get(kpi) != source
        }
        by_move: dict[tuple, list[str]] = {}
        for kpi, move in sorted(changed.items()):
            by_move.setdefault(move, []).append(kpi)
        for (before, after), kpis in by_move.items():
            lines.append(f"    {before} -> {after}: {', '.join(kpis)}")
        if not changed:
            lines.append("    no KPI changed provenance")
    for notice in outcome.notices:
        lines.append(f"    owner notice to {notice['data_owner']}: {notice['reason']}")
    if previous is not None and outcome.reconciled > previous.reconciled:
        lines.append(
            f"    kpi_reconciliation: {outcome.reconciled - previous.reconciled} more KPI-months where the feed "
            "superseded a manual scorecard (both values and the difference kept)"
        )
    return "\n".join(lines)


def _months_before(day: dt.date, months: int) -> dt.date:
    month = day.year * 12 + day.month - 1 - months
    year, month = divmod(month, 12)
    return dt.date(year, month + 1, min(day.day, 28))


def _register_for(scenario: Scenario, data_dir: Path) -> Path:
    register = yaml.safe_load(ig_register.DEFAULT_PATH.read_text())
    for feed, changes in scenario.register.items():
        register["feeds"][feed].update(changes)
    path = data_dir / "ig_register" / f"{re.sub(r'[^a-z]+', '_', scenario.name.lower())}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(register, sort_keys=False))
    ig_register.load_register(path)  # a scenario's register is as valid as the real one
    return path


def _run(scenario: Scenario, logical: dt.date, env: dict, settings: Settings, log_path: Path, check: bool) -> Outcome:
    airflow = str(Path(sys.executable).parent / "airflow")
    command = [airflow, "dags", "test", "send_pipeline", logical.isoformat()]
    inbox = settings.inbox(ICB)
    if scenario.icb_access_denied:
        inbox.chmod(0)
        if os.geteuid() == 0:  # root reads anything: drop the override so the permission bits apply
            command = ["capsh", "--drop=cap_dac_override,cap_dac_read_search", "--", "-c", _quote(command)]
    try:
        with log_path.open("a") as log:
            log.write(f"\n$ {' '.join(command)}  # {scenario.name}\n")
            log.flush()
            result = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        inbox.chmod(0o755)
    if result.returncode != 0 and check:
        raise RuntimeError(f"scenario {scenario.name!r}: airflow dags test failed; see {log_path}")
    return _outcome(scenario, logical, settings)


def _quote(command: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(part) for part in command)


def _outcome(scenario: Scenario, logical: dt.date, settings: Settings) -> Outcome:
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        (period,) = con.execute("select max(period_start) from marts.kpi_values").fetchone()
        provenance = dict(
            con.execute(
                "select kpi_code, provenance from marts.kpi_values where period_start = ? and area_type = 'la'",
                [period],
            ).fetchall()
        )
        (pct,) = con.execute(
            "select avg(pct_automated) from marts.kpi_coverage where period_start = ?", [period]
        ).fetchone()
        (reconciled,) = con.execute("select count(*) from marts.kpi_reconciliation").fetchone()
        (run_id,) = con.execute("select run_id from ops.pipeline_runs order by recorded_at desc limit 1").fetchone()
    notices = []
    if settings.alerts_path.exists():
        for line in settings.alerts_path.read_text().splitlines():
            event = json.loads(line)
            if event["event"] == "owner_notice" and event["run_id"] == run_id:
                notices.append(event)
    return Outcome(scenario, logical, provenance, period, notices, pct, reconciled, run_id)
