"""The IG steps of a run on a real DuckDB warehouse: register decisions, access refusals at run time
and stale data are recorded in ops.feed_status and reported to the owner once; other errors raise."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
import yaml

from orchestration import feeds, ig_register

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture
def register(tmp_path, monkeypatch):
    data = yaml.safe_load(ig_register.DEFAULT_PATH.read_text())

    def write(**changes):
        for feed, fields in changes.items():
            data["feeds"][feed].update(fields)
        path = tmp_path / "register.yml"
        path.write_text(yaml.safe_dump(data))
        monkeypatch.setenv("SEND_IG_REGISTER_PATH", str(path))

    write()
    return write


@pytest.fixture
def con(tmp_path):
    with duckdb.connect(str(tmp_path / "build.duckdb")) as con:
        yield con


@pytest.fixture
def notices():
    sent = []

    def notify(decision, kpis):
        sent.append((decision.feed, decision.reason, kpis))
        return True

    notify.sent = sent
    return notify


def _statuses(con):
    return {feed: (status, reason) for feed, status, reason in con.execute(
        "select feed, status, reason from ops.feed_status").fetchall()}  # fmt: skip


def test_a_suspended_agreement_blocks_only_its_feed(con, register, notices):
    register(icb_nd_referrals={"status": "suspended"})
    run = feeds.SourceRun("icb_nd_pathway", AS_OF, "run_1")
    assert feeds.allowed_feeds(con, run, notices) == ["icb_nd_waiting_list"]
    assert _statuses(con)["icb_nd_referrals"][0] == "blocked"
    [(feed, reason, kpis)] = notices.sent
    assert feed == "icb_nd_referrals" and "suspended" in reason
    assert "ND_ASD_FIRST_CONTACT_13WK" in kpis and "EHCP_20WK_ALL" not in kpis


def test_an_expired_agreement_blocks_the_feed(con, register, notices):
    register(icb_nd_waiting_list={"agreement_expires": dt.date(2026, 10, 31)})
    run = feeds.SourceRun("icb_nd_pathway", AS_OF, "run_1")
    assert feeds.allowed_feeds(con, run, notices) == ["icb_nd_referrals"]
    assert "expired on 2026-10-31" in _statuses(con)["icb_nd_waiting_list"][1]


def test_access_refused_at_run_time_blocks_instead_of_failing(con, register, notices, tmp_path):
    run = feeds.SourceRun("icb_nd_pathway", AS_OF, "run_1")

    def read():
        raise PermissionError(13, "Permission denied", str(tmp_path / "inbox"))

    assert feeds.read_source(con, run, list(run.feeds), read, notices) is None
    assert {s for s, _ in _statuses(con).values()} == {"blocked"}
    assert len(notices.sent) == 2  # one per feed the source carries


def test_other_failures_are_raised_for_airflow_to_retry(con, register, notices):
    run = feeds.SourceRun("icb_nd_pathway", AS_OF, "run_1")

    def read():
        raise TimeoutError("SFTP read timed out")

    with pytest.raises(TimeoutError):
        feeds.read_source(con, run, list(run.feeds), read, notices)
    assert notices.sent == []


def test_data_past_its_freshness_limit_counts_as_stale(con, register, notices):
    con.execute("create schema raw_icb_nd_pathway")
    con.execute("create table raw_icb_nd_pathway.nd_referrals as select date '2026-09-30' as snapshot_date")
    con.execute("create table raw_icb_nd_pathway.nd_waiting_list as select date '2026-10-31' as snapshot_date")
    run = feeds.SourceRun("icb_nd_pathway", AS_OF, "run_1")
    feeds.check_freshness(con, run, list(run.feeds), notices)
    statuses = _statuses(con)
    assert statuses["icb_nd_referrals"][0] == "stale" and "54 days" in statuses["icb_nd_referrals"][1]
    assert statuses["icb_nd_waiting_list"] == ("live", "")
    assert [feed for feed, _, _ in notices.sent] == ["icb_nd_referrals"]
