"""Fixtures for the DAG tests: one DagBag parse of the dags folder, timed."""

from __future__ import annotations

import time

import pytest

from orchestration.settings import REPO_ROOT
from tests.conftest import FIGURES


@pytest.fixture(scope="session")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    elapsed = time.perf_counter() - started
    FIGURES.append(f"DAG folder parse: {len(bag.dags)} DAG(s) in {elapsed:.2f}s (includes importing Airflow)")
    return bag
