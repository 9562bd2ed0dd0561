"""The IG steps of a run on a real DuckDB warehouse: register decisions, access refusals at run time
and stale data are recorded in ops.feed_status (one row per agreement) and reported to each data owner
once per source and run (one notice naming every blocked agreement); other errors raise."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import duckdb
import pytest
import yaml

from orchestration import alerts, ig_register
from orchestration import feed_access as feeds
from warehouse import ledger

AS_OF = dt.date(2026, 11, 23)
ICB = "icb_nd_pathway"
NHS_NUMBER = "9434765919"


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
    """Records each call: (feeds named, reasons, KPIs)."""
    sent = []

    def notify(decisions, kpis):
        sent.append(([d.feed for d in decisions], [d.reason for d in decisions], kpis))
        return True

    notify.sent = sent
    return notify


def _statuses(con):
    return {feed: (status, reason, told) for feed, status, reason, told in con.execute(
        "select feed, status, reason, owner_notified from ops.feed_status").fetchall()}  # fmt: skip


def _refused(tmp_path):
    def read():
        raise PermissionError(13, "Permission denied", str(tmp_path / "inbox"))

    return read


def test_a_suspended_agreement_blocks_only_its_feed(con, register, notices):
    register(icb_nd_referrals={"status": "suspended"})
    run = feeds.SourceRun(ICB, AS_OF, "run_1")
    assert feeds.allowed_feeds(con, run, notices) == ["icb_nd_waiting_list"]
    assert _statuses(con)["icb_nd_referrals"][0] == "blocked"
    [(named, [reason], kpis)] = notices.sent
    assert named == ["icb_nd_referrals"] and "suspended" in reason
    assert "ND_ASD_FIRST_CONTACT_13WK" in kpis and "EHCP_20WK_ALL" not in kpis


def test_an_expired_agreement_blocks_the_feed(con, register, notices):
    register(icb_nd_waiting_list={"agreement_expires": dt.date(2026, 10, 31)})
    run = feeds.SourceRun(ICB, AS_OF, "run_1")
    assert feeds.allowed_feeds(con, run, notices) == ["icb_nd_referrals"]
    assert "expired on 2026-10-31" in _statuses(con)["icb_nd_waiting_list"][1]


def test_both_agreements_suspended_is_one_notice_naming_both(con, register, notices):
    register(icb_nd_referrals={"status": "suspended"}, icb_nd_waiting_list={"status": "suspended"})
    run = feeds.SourceRun(ICB, AS_OF, "run_1")
    assert feeds.extract_source(con, run, lambda allowed: pytest.fail("nothing may be read"), notices) is None
    [(named, reasons, kpis)] = notices.sent
    assert named == ["icb_nd_referrals", "icb_nd_waiting_list"]
    assert all("suspended" in reason for reason in reasons)
    union = feeds.kpis_of("icb_nd_referrals") + feeds.kpis_of("icb_nd_waiting_list")
    assert sorted(kpis) == sorted(set(union)) and len(kpis) == len(set(kpis))
    assert {feed: status[0] for feed, status in _statuses(con).items()} == dict.fromkeys(named, "blocked")


def test_access_refused_at_run_time_blocks_instead_of_failing_with_one_notice(con, register, notices, tmp_path):
    run = feeds.SourceRun(ICB, AS_OF, "run_1")
    assert feeds.extract_source(con, run, lambda allowed: _refused(tmp_path), notices) is None
    statuses = _statuses(con)
    assert {s for s, _, _ in statuses.values()} == {"blocked"} and set(statuses) == set(run.feeds)
    assert all(told for _, _, told in statuses.values())
    [(named, reasons, _)] = notices.sent  # one notice for the source, not one per agreement
    assert named == list(run.feeds) and all("access refused at run time" in r for r in reasons)


def test_one_agreement_suspended_and_the_other_refused_is_one_notice_with_both_reasons(
    con, register, notices, tmp_path
):
    register(icb_nd_referrals={"status": "suspended"})
    run = feeds.SourceRun(ICB, AS_OF, "run_1")
    asked = []

    def reader(allowed):
        asked.append(allowed)
        return _refused(tmp_path)

    assert feeds.extract_source(con, run, reader, notices) is None
    assert asked == [["icb_nd_waiting_list"]]  # the suspended agreement's files are not touched
    [(named, reasons, _)] = notices.sent
    assert named == ["icb_nd_referrals", "icb_nd_waiting_list"]
    assert "suspended" in reasons[0] and "access refused at run time" in reasons[1]
    assert {s for s, _, _ in _statuses(con).values()} == {"blocked"}


def test_agreements_of_different_owners_get_a_notice_each(con, register, notices):
    register(
        icb_nd_referrals={"status": "suspended"},
        icb_nd_waiting_list={"status": "suspended", "data_owner": "Provider BI", "contact": "bi@provider.example"},
    )
    run = feeds.SourceRun(ICB, AS_OF, "run_1")
    assert feeds.allowed_feeds(con, run, notices) == []
    assert sorted(named for named, _, _ in notices.sent) == [["icb_nd_referrals"], ["icb_nd_waiting_list"]]


def test_the_register_block_is_told_even_when_the_read_then_fails(con, register, notices):
    register(icb_nd_referrals={"status": "suspended"})
    run = feeds.SourceRun(ICB, AS_OF, "run_1")

    def read():
        raise TimeoutError("SFTP read timed out")

    with pytest.raises(TimeoutError):  # transient: raised for Airflow to retry
        feeds.extract_source(con, run, lambda allowed: read, notices)
    assert [named for named, _, _ in notices.sent] == [["icb_nd_referrals"]]
    assert set(_statuses(con)) == {"icb_nd_referrals"}


def test_other_failures_are_raised_for_airflow_to_retry(con, register, notices):
    run = feeds.SourceRun(ICB, AS_OF, "run_1")

    def read():
        raise TimeoutError("SFTP read timed out")

    with pytest.raises(TimeoutError):
        feeds.extract_source(con, run, lambda allowed: read, notices)
    assert notices.sent == [] and not ledger.has_ops_table(con, "feed_status")


def test_a_refusal_reason_withholds_identifiers_the_driver_quoted(con, register, notices):
    run = feeds.SourceRun("la_case_management", AS_OF, "run_1")

    def read():
        raise PermissionError(f"permission denied for row {NHS_NUMBER} (born 2014-03-09, PR1 2AB)")

    assert feeds.extract_source(con, run, lambda allowed: read, notices) is None
    [(_, [reason], _)] = notices.sent
    assert "access refused at run time (PermissionError: permission denied for row [withheld]" in reason
    for value in (NHS_NUMBER, "2014-03-09", "PR1 2AB"):
        assert value not in reason and value not in _statuses(con)["la_case_management"][1]


def test_data_past_its_freshness_limit_counts_as_stale(con, register, notices):
    con.execute("create schema raw_icb_nd_pathway")
    con.execute("create table raw_icb_nd_pathway.nd_referrals as select date '2026-09-30' as snapshot_date")
    con.execute("create table raw_icb_nd_pathway.nd_waiting_list as select date '2026-10-31' as snapshot_date")
    run = feeds.SourceRun(ICB, AS_OF, "run_1")
    feeds.check_freshness(con, run, list(run.feeds), notices)
    statuses = _statuses(con)
    assert statuses["icb_nd_referrals"][0] == "stale" and "54 days" in statuses["icb_nd_referrals"][1]
    assert statuses["icb_nd_waiting_list"] == ("live", "", False)
    assert [named for named, _, _ in notices.sent] == [["icb_nd_referrals"]]


def test_both_feeds_stale_is_one_notice(con, register, notices):
    con.execute("create schema raw_icb_nd_pathway")
    for table in ("nd_referrals", "nd_waiting_list"):
        con.execute(f"create table raw_icb_nd_pathway.{table} as select date '2026-08-31' as snapshot_date")
    run = feeds.SourceRun(ICB, AS_OF, "run_1")
    feeds.check_freshness(con, run, list(run.feeds), notices)
    assert [named for named, _, _ in notices.sent] == [["icb_nd_referrals", "icb_nd_waiting_list"]]


# --- the real notifier: the alert log (SEND_ALERTS_PATH) dedupes within a run ------------------------


@pytest.fixture
def alert_log(tmp_path, monkeypatch):
    path = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("SEND_ALERTS_PATH", str(path))
    return lambda: [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _owner_notifier(run_id: str, task_id: str, try_number: int = 1):
    ti = SimpleNamespace(dag_id="send_pipeline", task_id=task_id, run_id=run_id, try_number=try_number)
    context = {"ti": ti, "logical_date": AS_OF}
    return lambda decisions, kpis: alerts.notify_owner(decisions, context, kpis)


def test_one_notice_per_source_and_run_in_the_alert_log(con, register, alert_log, tmp_path):
    register(icb_nd_referrals={"status": "suspended"})
    run = feeds.SourceRun(ICB, AS_OF, "run_1")

    def reader(allowed):
        return _refused(tmp_path)  # every try is refused

    feeds.extract_source(con, run, reader, _owner_notifier("run_1", "extract_icb_nd_pathway"))
    feeds.extract_source(con, run, reader, _owner_notifier("run_1", "extract_icb_nd_pathway", try_number=2))
    [notice] = alert_log()  # the second try of the same run repeats nothing
    assert notice["source"] == ICB and notice["feeds"] == ["icb_nd_referrals", "icb_nd_waiting_list"]
    assert "suspended" in notice["reasons"]["icb_nd_referrals"]
    assert "access refused at run time" in notice["reasons"]["icb_nd_waiting_list"]
    assert notice["data_owner"].startswith("ICB") and notice["runbook"].endswith("ig_blocker.md")
    assert set(notice["kpis_falling_back"]) == set(feeds.kpis_of("icb_nd_referrals")) | set(
        feeds.kpis_of("icb_nd_waiting_list")
    )
    assert all(told for _, _, told in _statuses(con).values())  # "owner told" holds on the retry too

    feeds.extract_source(con, feeds.SourceRun(ICB, AS_OF, "run_2"), reader, _owner_notifier("run_2", "x"))
    assert [n["run_id"] for n in alert_log()] == ["run_1", "run_2"]  # the next run tells the owner again


def test_an_agreement_blocked_later_in_the_run_gets_a_notice_naming_only_it(con, register, alert_log):
    register(icb_nd_referrals={"status": "suspended"})
    run = feeds.SourceRun(ICB, AS_OF, "run_1")
    assert feeds.allowed_feeds(con, run, _owner_notifier("run_1", "extract_icb_nd_pathway")) == ["icb_nd_waiting_list"]
    con.execute("create schema raw_icb_nd_pathway")
    con.execute("create table raw_icb_nd_pathway.nd_waiting_list as select date '2026-08-31' as snapshot_date")
    feeds.check_freshness(con, run, ["icb_nd_waiting_list"], _owner_notifier("run_1", "load_icb_nd_pathway"))
    assert [n["feeds"] for n in alert_log()] == [["icb_nd_referrals"], ["icb_nd_waiting_list"]]


def test_a_ledger_from_before_areas_keeps_its_rows_for_every_area(con):
    con.execute(
        "create schema ops; create table ops.feed_status (run_id varchar, feed varchar, status varchar, "
        "reason varchar, newest_data date, data_owner varchar, owner_notified boolean, recorded_at timestamptz, "
        "as_of date, primary key (run_id, feed))"
    )
    con.execute(
        "insert into ops.feed_status values ('run_0', 'la_case_management', 'live', '', null, 'BI', false, now(), null)"
    )
    ledger.record_feed(con, "run_1", "la_case_management", "blocked", "suspended", area_code="E06000009")
    ledger.record_feed(con, "run_1", "la_case_management", "live", area_code="E10000017")
    rows = con.execute("select run_id, area_code, status from ops.feed_status order by all").fetchall()
    assert rows == [("run_0", "", "live"), ("run_1", "E06000009", "blocked"), ("run_1", "E10000017", "live")]
    assert ledger.blocked_feeds(con, "run_1", "E06000009") == {"la_case_management"}
    assert ledger.blocked_feeds(con, "run_1", "E10000017") == set()


def test_an_la_s_register_decision_and_refusal_are_its_own(con, register, tmp_path):
    register(la_case_management={"areas": {"E06000009": {"status": "suspended", "data_owner": "Blackpool BI"}}})
    told = []

    def notify(decisions, kpis):
        told.append([(d.feed, d.area_code, d.data_owner) for d in decisions])
        return True

    for area in ("E06000009", "E10000017"):
        run = feeds.SourceRun("la_case_management", AS_OF, "run_1", area)
        feeds.extract_source(con, run, lambda allowed: _refused(tmp_path), notify)
    assert told == [
        [("la_case_management", "E06000009", "Blackpool BI")],
        [("la_case_management", "E10000017", "LA SEND business intelligence team")],
    ]
    rows = con.execute("select area_code, reason from ops.feed_status order by area_code").fetchall()
    assert rows[0] == ("E06000009", "la_case_management for E06000009 is suspended in the IG register (internal)")
    assert rows[1][0] == "E10000017" and rows[1][1].startswith("la_case_management for E10000017: access refused")
