"""The LA connections the extract is mapped over: listed by an Airflow Variable, each naming its LA, one
per LA; a mistake stops the run before any LA is read, naming the connection."""

from __future__ import annotations

import json

import pytest

from orchestration import tasks

FEED = "la_case_management"


def _connection(monkeypatch, conn_id: str, area_code: str | None) -> None:
    extra = {"sqlalchemy_url": "sqlite://"} | ({"area_code": area_code} if area_code is not None else {})
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "generic", "extra": extra}))


def _listed(monkeypatch, ids) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_LA_CASE_MANAGEMENT_CONNECTIONS", json.dumps(ids))


def test_the_variable_lists_one_connection_per_la(monkeypatch):
    _connection(monkeypatch, "la_lancashire", "E10000017")
    _connection(monkeypatch, "la_blackpool", "E06000009")
    _listed(monkeypatch, ["la_lancashire", "la_blackpool"])
    assert tasks.source_connections(FEED) == ["la_lancashire", "la_blackpool"]


def test_without_the_variable_the_feed_s_one_connection_is_read(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_LA_CASE_MANAGEMENT_CONNECTIONS", raising=False)
    _connection(monkeypatch, FEED, "E10000017")
    assert tasks.source_connections(FEED) == [FEED]


def test_two_connections_of_one_la_are_refused_by_name(monkeypatch):
    _connection(monkeypatch, "la_a", "E06000009")
    _connection(monkeypatch, "la_b", "E06000009")
    _listed(monkeypatch, ["la_a", "la_b"])
    with pytest.raises(ValueError, match=r"more than one for E06000009 \(la_a, la_b\)"):
        tasks.source_connections(FEED)


@pytest.mark.parametrize("area_code", [None, "", "Lancashire", "E1000001"])
def test_a_connection_without_an_la_code_is_refused_by_name(monkeypatch, area_code):
    _connection(monkeypatch, "la_x", area_code)
    _listed(monkeypatch, ["la_x"])
    with pytest.raises(ValueError, match="connection la_x: extra area_code must be the LA's ONS code"):
        tasks.source_connections(FEED)


@pytest.mark.parametrize("value", [[], "la_x", [""], {"a": 1}])
def test_the_variable_must_be_a_list_of_connection_ids(monkeypatch, value):
    _listed(monkeypatch, value)
    with pytest.raises(ValueError, match="must be a JSON list of connection ids"):
        tasks.source_connections(FEED)
