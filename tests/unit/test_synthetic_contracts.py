"""The contracts themselves: loadable, consistent, and documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingestion import contract as contracts

FEEDS = ["la_case_management", "icb_nd_pathway", "manual_returns", "dfe_ehcp_statistics"]
DOC = Path(__file__).resolve().parents[2] / "docs" / "source_contracts.md"


@pytest.mark.parametrize("feed", FEEDS)
def test_contract_is_consistent(feed):
    contract = contracts.load_contract(feed)
    for name, table in contract.tables.items():
        assert set(table.primary_key) <= set(table.columns), name
        if table.change_timestamp:
            assert table.columns[table.change_timestamp].type == "timestamp"
        for column, target in table.foreign_keys.items():
            parent, parent_column = target.split(".")
            assert column in table.columns and parent_column in contract.tables[parent].columns
        for column_name, column in table.columns.items():
            if column.allowed:  # validation upper-cases values before comparing
                assert all(code == code.upper() for code in column.allowed), column_name
            if column.pattern:
                re.compile(column.pattern)
        if table.file:
            re.compile(table.file.name_pattern)
            assert (table.file.sheet is not None) == ("xlsx" in table.file.formats)


def test_every_la_table_has_a_change_timestamp():
    for name, table in contracts.load_contract("la_case_management").tables.items():
        assert table.change_timestamp == "last_modified_at", name


@pytest.mark.parametrize("feed", FEEDS[:3])
def test_every_table_and_column_is_documented(feed):
    text = DOC.read_text()
    for name, table in contracts.load_contract(feed).tables.items():
        assert f"`{name}`" in text, name
        for column in table.columns:
            assert f"`{column}`" in text, f"{name}.{column}"
