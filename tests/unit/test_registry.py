"""The feed registry: every feed declared once in its package, and everything else reading it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devtools import contract_docs
from ingestion import registry
from ingestion.feed import Feed
from orchestration import ig_register
from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT, Settings

FEEDS = registry.feeds()


def test_the_registry_finds_every_feed_package():
    packages = sorted(p.parent.name for p in (REPO_ROOT / "ingestion").glob("*/__init__.py"))
    assert sorted(registry.names()) == packages  # a package without feed.py would be a feed nobody reads
    assert {"la_case_management", "icb_nd_pathway", "manual_returns", "dfe_ehcp_statistics"} <= set(packages)


@pytest.mark.parametrize("feed", FEEDS, ids=[f.name for f in FEEDS])
def test_each_declaration_is_complete_and_consistent(feed: Feed):
    contract = feed.contract()
    assert contract.feed == feed.name and feed.contract_path.is_file()
    assert callable(feed.reader())  # the entry point resolves
    assert (feed.package_dir / "README.md").is_file()  # the prose of docs/source_contracts.md
    for agreement in feed.agreements:
        assert set(agreement.tables) <= set(contract.tables), agreement.name
    if feed.kind == "database":
        assert feed.connection_id and all(not t.file for t in contract.tables.values())
    else:
        assert all(t.file for t in contract.tables.values()) and not feed.connection_id
    models = DBT_PROJECT_DIR / "models" / "intermediate"
    for model in feed.kpi_models.values:
        assert list(models.rglob(f"int_kpi_values__{model}.sql")), model
    for model in feed.kpi_models.periods:
        assert list(models.rglob(f"int_feed_periods__{model}.sql")), model
    staging = DBT_PROJECT_DIR / "models" / "staging" / feed.name
    assert list(staging.glob(f"_{feed.name}__sources.yml")), f"{feed.name} has no dbt staging sources"


def test_every_agreement_is_in_the_ig_register_and_nothing_else_is():
    ig_register.check_covers_registry(ig_register.load_register(ig_register.DEFAULT_PATH))


def test_file_feeds_arrive_where_their_declaration_says():
    settings = Settings.from_env({"SEND_INBOX_DIR": "/in", "SEND_DFE_RELEASE_DIR": "/dfe"})
    assert settings.inbox("icb_nd_pathway").as_posix() == "/in/icb_nd_pathway"
    assert settings.inbox("dfe_ehcp_statistics").as_posix() == "/dfe"  # feed.inbox_env
    assert set(settings.inboxes) == {f.name for f in FEEDS if f.kind == "files"}


def test_the_generated_files_are_current():
    """dbt's feed lists and docs/source_contracts.md are generated from the packages; stale, they lie."""
    assert registry.main(["--check"]) == 0, "run python -m ingestion.registry"
    assert contract_docs.main(["--check"]) == 0, "run python -m devtools.contract_docs"


def test_the_production_chain_never_imports_demo_or_test_data_tooling():
    """dags/ -> orchestration -> ingestion / warehouse stand on their own: the demo package and the
    synthetic generator are development tools."""
    code = (
        "import runpy, sys, pkgutil, importlib\n"
        "runpy.run_path('dags/send_pipeline.py')\n"
        "for package in ('orchestration', 'ingestion', 'warehouse'):\n"
        "    root = importlib.import_module(package)\n"
        "    for info in pkgutil.walk_packages(root.__path__, package + '.'):\n"
        "        if not info.name.endswith('__main__'):\n"
        "            importlib.import_module(info.name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'devtools', 'synthetic', 'tests', 'bench'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
