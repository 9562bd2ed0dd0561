"""The Soda contracts as the gate's second line: what dbt's tests cannot check, never a copy of them.

The contracts' layout and the dbt tests are read from the checkout. The checks themselves run on a real
warehouse: a synthetic LA source (demo scale, halved) extracted, loaded and built by the whole dbt
project, as the pipeline builds it. Each test breaks one thing in a copy of that warehouse, the way a
bug in a model or a bad run would, and the gate must name the check that guards it and nothing else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from ingestion import load, registry
from ingestion.la_case_management import extract
from orchestration.settings import DBT_PRODUCTION_FLAGS, DBT_PROJECT_DIR, SODA_CHECKS_DIR
from synthetic.la_case_management import generate
from tests.dbt_cli import dbt_build
from warehouse import ledger, publish, quality

CONTRACTS = SODA_CHECKS_DIR / "contracts"
AREA = "E10000017"
AS_OF = dt.date(2025, 7, 1)
RUN = "scheduled__2025-07-01T05:00:00+00:00"
NEXT_RUN = "scheduled__2025-07-02T05:00:00+00:00"
RUN_STAMPED = ("kpi_values", "kpi_values_public", "kpi_coverage", "kpi_reconciliation")


# --- The contracts against the dbt project, no warehouse needed ---------------------------------------


def _contracts() -> list[tuple[Path, dict]]:
    return [(path, yaml.safe_load(path.read_text())) for path in quality.contract_paths(CONTRACTS)]


def test_each_contract_mirrors_the_table_it_checks():
    for path, contract in _contracts():
        schema, table = path.relative_to(CONTRACTS).with_suffix("").parts
        assert contract["dataset"] == f"{quality.DATA_SOURCE_NAME}/{schema}/{table}", path


def _dbt_tests() -> dict[tuple[str, str], dict]:
    """Per (schema, model or source table): whether its contract is enforced, its primary key and
    unique column sets, and per column the dbt tests and constraints on it."""
    schemas = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["models"]["send"]
    found: dict[tuple[str, str], dict] = {}

    def entry(node: dict, schema: str) -> dict:
        keys = []
        for test in node.get("data_tests") or []:
            name, args = next(iter(test.items())) if isinstance(test, dict) else (test, {})
            if name in ("primary_key", "unique_combination"):
                keys.append(set((args.get("arguments") or args)["columns"]))
        columns = {}
        for column in node.get("columns") or []:
            tests = {next(iter(t)) if isinstance(t, dict) else t: t for t in column.get("data_tests") or []}
            if any(c.get("type") == "not_null" for c in column.get("constraints") or []):
                tests.setdefault("not_null", "not_null")
            if "unique" in tests:
                keys.append({column["name"]})
            columns[column["name"]] = tests
        enforced = bool(((node.get("config") or {}).get("contract") or {}).get("enforced"))
        primary = next((k for k in keys if k), set())
        return {"enforced": enforced, "keys": keys, "primary_key": primary, "columns": columns, "schema": schema}

    for path in (DBT_PROJECT_DIR / "models").rglob("_*.yml"):
        layer = path.relative_to(DBT_PROJECT_DIR / "models").parts[0]
        document = yaml.safe_load(path.read_text()) or {}
        for model in document.get("models") or []:
            schema = schemas[layer]["+schema"]
            found[(schema, model["name"])] = entry(model, schema)
        for source in document.get("sources") or []:
            schema = source.get("schema", source["name"])
            for table in source.get("tables") or []:
                found[(schema, table["name"])] = entry(table, schema)
    return found


def _repeats(check: str, body: dict, column: str | None, dbt: dict) -> str | None:
    """The dbt test a Soda check repeats on the same model and column, if any."""
    body = body or {}
    tests = dbt["columns"].get(column, {}) if column else {}
    if check == "schema" and dbt["enforced"]:
        return "enforced model contract"
    if check == "missing" and not body.get("missing_values") and not body.get("filter"):
        if column in dbt["primary_key"]:
            return "primary_key"
        if "not_null" in tests:
            return "not_null"
    if check == "duplicate":
        columns = set(body.get("columns") or [column])
        if columns in dbt["keys"]:
            return "primary_key / unique"
    if check == "invalid" and body.get("valid_values") and not body.get("filter") and "accepted_values" in tests:
        return "accepted_values"
    if check == "invalid" and body.get("valid_reference_data") and "relationships" in tests:
        target = body["valid_reference_data"]["dataset"].rsplit("/", 1)[-1]
        arguments = tests["relationships"]["relationships"]
        if target in str((arguments.get("arguments") or arguments).get("to")):
            return "relationships"
    return None


def test_no_soda_check_repeats_a_dbt_test_on_the_same_column():
    dbt = _dbt_tests()
    repeated = []
    for path, contract in _contracts():
        schema, table = path.relative_to(CONTRACTS).with_suffix("").parts
        tested = dbt.get((schema, table))
        if tested is None:
            continue
        checks = [(None, c) for c in contract.get("checks") or []]
        checks += [(col["name"], c) for col in contract.get("columns") or [] for c in col.get("checks") or []]
        for column, check in checks:
            kind, body = next(iter(check.items()))
            if (test := _repeats(kind, body, column, tested)) is not None:
                repeated.append(f"{schema}.{table} {kind} {column or ''}: dbt {test}")
    assert dbt and not repeated, repeated


# --- The checks on a real build ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("soda_contracts")
    source = f"sqlite:///{work / 'la.sqlite'}"
    generate(source, scale="demo", seed=42, as_of=AS_OF, size=0.5)
    manifest = extract.extract(source, AREA, work / "landing", b"k" * 32, run_id=RUN)
    warehouse = work / "build.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        load.load_batch(con, manifest)
        for feed in registry.names():
            load.ensure_raw_tables(con, feed)  # the other feeds delivered nothing here
    build = dbt_build(warehouse, work, *DBT_PRODUCTION_FLAGS, env={"SEND_AS_OF": AS_OF.isoformat(), "SEND_RUN_ID": RUN})
    assert build.returncode == 0, build.stdout[-5000:]
    return warehouse


@pytest.fixture
def con(built, tmp_path):
    """A copy of the built warehouse, to break."""
    copy = tmp_path / "build.duckdb"
    shutil.copy(built, copy)
    with duckdb.connect(str(copy)) as connection:
        yield connection


def _failed(con, run_id: str = RUN) -> set[tuple[str, str]]:
    with pytest.raises(quality.DataQualityError) as error:
        quality.gate(con, CONTRACTS, run_id)
    recorded = con.execute(
        "select count(*) from ops.data_quality_results where run_id = ? and blocking", [run_id]
    ).fetchone()[0]
    assert recorded == len(error.value.failed)
    return {(r.dataset, r.check_name) for r in error.value.failed}


def test_a_real_build_passes_every_contract(con):
    results = quality.gate(con, CONTRACTS, RUN)
    assert not [r for r in results if r.blocking]
    names = {(r.dataset, r.check_name) for r in results}
    assert {
        ("marts.kpi_values", "a row for every catalogue KPI, area and month"),
        ("marts.kpi_values", "every KPI is in the published catalogue"),
        ("marts.kpi_coverage", "counts equal the provenance counts of kpi_values per area and month"),
        ("marts.kpi_coverage", "GOV_KPIS_AUTOMATED is pct_automated for every LA and month"),
        ("marts.kpi_values_public", "nothing built on a count of 1 to 7 is shown"),
        ("marts.kpi_values_public", "no locality is the only one of its LA hidden"),
        ("marts.kpi_reconciliation", "a row only where both a feed and a manual value exist"),
        ("marts.fct_ehcp_requests", quality.ROW_DROP_CHECK),  # every mart, with a contract or not
    } <= names
    assert all(r.outcome == "passed" for r in results if r.dataset.startswith("marts."))


def test_marts_not_built_by_this_run_are_not_published(con):
    assert _failed(con, NEXT_RUN) == {
        (f"marts.{table}", "every row was built by this run") for table in RUN_STAMPED if table != "kpi_reconciliation"
    }  # kpi_reconciliation is empty here (no manual scorecards): nothing to stamp


def test_a_missing_kpi_row_breaks_completeness_and_the_marts_built_on_it(con):
    con.execute("delete from marts.kpi_values where kpi_code = 'EHCP_20WK_ALL' and period_start = date '2024-05-01'")
    assert _failed(con) == {
        ("marts.kpi_values", "a row for every catalogue KPI, area and month"),
        ("marts.kpi_coverage", "counts equal the provenance counts of kpi_values per area and month"),
        ("marts.kpi_values_public", "the rows of kpi_values, with its figures wherever nothing is suppressed"),
    }


def test_a_missing_month_breaks_completeness(con):
    for table in ("kpi_values", "kpi_values_public", "kpi_coverage"):
        con.execute(f"delete from marts.{table} where period_start = date '2024-02-01'")  # consistently
    assert _failed(con) == {("marts.kpi_values", "a row for every catalogue KPI, area and month")}


def test_coverage_that_disagrees_with_kpi_values_blocks(con):
    con.execute(
        "update marts.kpi_coverage set kpis_from_feed = kpis_from_feed + 1, kpis_missing = kpis_missing - 1 "
        "where period_start = date '2024-05-01'"
    )  # the same total and percentage: only the provenance split is wrong
    assert _failed(con) == {
        ("marts.kpi_coverage", "counts equal the provenance counts of kpi_values per area and month")
    }


def test_a_kpi_dropped_from_the_published_catalogue_blocks(con):
    con.execute("delete from marts.kpi_catalogue where kpi_code = 'EHCP_20WK_ALL'")
    assert _failed(con) == {
        ("marts.kpi_values", "every KPI is in the published catalogue"),
        ("marts.kpi_coverage", "every LA and month counts the catalogue KPIs a source provides"),
        ("marts.kpi_coverage", "counts equal the provenance counts of kpi_values per area and month"),
    }


def test_a_governance_kpi_that_disagrees_with_coverage_blocks(con):
    # GOV_KPIS_AUTOMATED computed apart from kpi_coverage, one KPI off in one month (in both profiles,
    # as a model bug would be): the board would read two figures for one thing.
    for table in ("kpi_values", "kpi_values_public"):
        changed = con.execute(
            f"""update marts.{table} set numerator = numerator - 1, value = 100.0 * (numerator - 1) / denominator
            where kpi_code = 'GOV_KPIS_AUTOMATED' and period_start = date '2024-05-01'"""
        ).fetchone()[0]
        assert changed == 1
    assert _failed(con) == {("marts.kpi_coverage", "GOV_KPIS_AUTOMATED is pct_automated for every LA and month")}


def test_a_locality_hidden_alone_blocks(con):
    # Complementary suppression undone: each locality hidden only for its own small count, so where one
    # is small its figure is the LA's minus the others'.
    groups = con.execute(
        """select count(*) from (
            select kpi_code, la_code, period_start from marts.kpi_values_public
            where area_type = 'locality' group by all having count(*) filter (where is_suppressed) = 2
        )"""
    ).fetchone()[0]
    assert groups > 0
    con.execute(
        """update marts.kpi_values_public as public
        set numerator = exact.numerator, denominator = exact.denominator, value = exact.value, rag = exact.rag,
            is_suppressed = false
        from marts.kpi_values as exact
        where public.kpi_code = exact.kpi_code and public.area_code = exact.area_code
            and public.period_start = exact.period_start and exact.area_type = 'locality'
            and not coalesce(exact.numerator between 1 and 7 or exact.denominator between 1 and 7
                or (exact.unit = 'count' and exact.value between 1 and 7), false)"""
    )
    assert _failed(con) == {("marts.kpi_values_public", "no locality is the only one of its LA hidden")}


def test_a_rate_built_on_a_small_count_is_caught_against_the_exact_figures(con):
    # A suppression bug that hides the numerator but shows the rate built on it: the public table's own
    # columns hold no count of 1 to 7, so only the comparison with kpi_values sees it.
    changed = con.execute(
        """update marts.kpi_values_public as public set value = exact.value, rag = exact.rag
        from marts.kpi_values as exact
        where public.kpi_code = exact.kpi_code and public.area_code = exact.area_code
            and public.period_start = exact.period_start and exact.unit = 'percent'
            and exact.numerator between 1 and 7 and exact.denominator > 7"""
    ).fetchone()[0]
    assert changed > 0
    assert _failed(con) == {("marts.kpi_values_public", "nothing built on a count of 1 to 7 is shown")}


def test_a_small_count_shown_in_the_public_profile_blocks(con):
    con.execute(
        """update marts.kpi_values_public as public set numerator = exact.numerator, value = exact.value,
            rag = exact.rag, is_suppressed = false
        from marts.kpi_values as exact
        where public.kpi_code = exact.kpi_code and public.area_code = exact.area_code
            and public.period_start = exact.period_start and exact.unit = 'count'
            and exact.numerator between 1 and 7 and exact.area_type = 'la'"""
    )
    assert _failed(con) == {
        ("marts.kpi_values_public", "no numerator of 1 to 7 is shown"),
        ("marts.kpi_values_public", "no count of 1 to 7 is shown"),
        ("marts.kpi_values_public", "nothing built on a count of 1 to 7 is shown"),
        ("marts.kpi_values_public", "the rows of kpi_values, with its figures wherever nothing is suppressed"),
    }


def _reconciliation_row(con, manual_numerator: int | None, feed_numerator_offset: int) -> None:
    """A reconciliation row for a KPI the feed published and a manual scorecard may stand in for."""
    inserted = con.execute(
        """insert into marts.kpi_reconciliation
        select kpi.kpi_code, kpi.area_code, kpi.period_start, kpi.provenance, kpi.source,
            kpi.numerator + ?, kpi.denominator, kpi.value, ?, kpi.denominator, null, null, null, kpi.run_id
        from marts.kpi_values as kpi
        inner join marts.kpi_catalogue as catalogue on kpi.kpi_code = catalogue.kpi_code
        where kpi.provenance = 'feed' and catalogue.manual_allowed and kpi.kpi_code = 'EHCP_REQUESTS'
            and kpi.period_start = date '2024-05-01' and kpi.area_type = 'la'""",
        [feed_numerator_offset, manual_numerator],
    ).fetchone()[0]
    assert inserted == 1


def test_reconciliation_only_where_a_feed_and_a_manual_value_both_exist(con):
    _reconciliation_row(con, manual_numerator=12, feed_numerator_offset=0)  # as the model would write it
    quality.gate(con, CONTRACTS, RUN)
    con.execute("update marts.kpi_reconciliation set manual_numerator = null")  # no manual figure at all
    assert _failed(con) == {("marts.kpi_reconciliation", "a row only where both a feed and a manual value exist")}


def test_reconciliation_whose_feed_value_is_not_the_published_one_blocks(con):
    _reconciliation_row(con, manual_numerator=12, feed_numerator_offset=3)
    assert _failed(con) == {("marts.kpi_reconciliation", "a row only where both a feed and a manual value exist")}


# --- Row counts against the last publication ------------------------------------------------------


def _published_run(con, run_id: str, as_of: str, published: Path) -> list[quality.CheckResult]:
    """One run's gate and publication, as the DAG's verify_quality and publish tasks do them."""
    results = quality.gate(con, CONTRACTS, run_id)
    ledger.record_run(con, run_id, as_of, "published", checks_run=len(results), checks_failed=0)
    publish.publish(con, published)
    return results


def _rebuilt_by(con, run_id: str) -> None:
    """Stamp the run-stamped marts as the next run's dbt build would."""
    for table in RUN_STAMPED:
        con.execute(f"update marts.{table} set run_id = ?", [run_id])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_mart_that_lost_most_of_its_rows_since_the_last_publication_is_not_published(con, tmp_path):
    published = tmp_path / "published" / "send.duckdb"
    _published_run(con, RUN, "2025-07-01", published)
    before = _digest(published)
    requests = con.execute("select count(*) from marts.fct_ehcp_requests").fetchone()[0]

    # The next run's build lost 60% of a mart no contract covers, and 30% of another: the first blocks,
    # the second is a warning.
    _rebuilt_by(con, NEXT_RUN)
    con.execute("delete from marts.fct_ehcp_requests where hash(request_id) % 10 < 6")
    con.execute("delete from marts.fct_ehcp_audits where hash(audit_id) % 10 < 3")
    assert _failed(con, NEXT_RUN) == {("marts.fct_ehcp_requests", quality.ROW_DROP_CHECK)}
    assert _digest(published) == before
    measured = dict(
        con.execute(
            "select dataset, diagnostics from ops.data_quality_results where run_id = ? and check_name = ? "
            "and outcome <> 'passed'",
            [NEXT_RUN, quality.ROW_DROP_CHECK],
        ).fetchall()
    )
    assert set(measured) == {"marts.fct_ehcp_requests", "marts.fct_ehcp_audits"}
    assert f'"previous_rows": {float(requests)}' in measured["marts.fct_ehcp_requests"]
    assert f'"previous_run_id": "{RUN}"' in measured["marts.fct_ehcp_requests"]
    outcomes = dict(
        con.execute(
            "select dataset, outcome from ops.data_quality_results where run_id = ? and check_name = ?",
            [NEXT_RUN, quality.ROW_DROP_CHECK],
        ).fetchall()
    )
    assert (outcomes["marts.fct_ehcp_requests"], outcomes["marts.fct_ehcp_audits"]) == ("failed", "warned")


def test_the_comparison_is_with_the_last_publication_not_the_last_failed_run(con, tmp_path):
    published = tmp_path / "published" / "send.duckdb"
    _published_run(con, RUN, "2025-07-01", published)
    full = con.execute("select count(*) from marts.fct_ehcp_requests").fetchone()[0]
    con.execute("create table kept as select * from marts.fct_ehcp_requests")

    _rebuilt_by(con, NEXT_RUN)  # a run whose build lost most rows fails and is not published ...
    con.execute("delete from marts.fct_ehcp_requests where hash(request_id) % 10 < 6")
    _failed(con, NEXT_RUN)
    # ... so the run after it is still judged against the publication before, not against that build.
    third = "scheduled__2025-07-03T05:00:00+00:00"
    _rebuilt_by(con, third)
    con.execute("insert into marts.fct_ehcp_requests select * from kept where hash(request_id) % 10 < 6")
    results = _published_run(con, third, "2025-07-03", published)
    drop = next(r for r in results if r.dataset == "marts.fct_ehcp_requests" and r.check_name == quality.ROW_DROP_CHECK)
    assert (drop.outcome, drop.measured_value, drop.diagnostics["previous_rows"]) == ("passed", full, full)
