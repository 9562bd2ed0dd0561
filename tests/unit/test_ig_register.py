import datetime as dt

import pytest
import yaml

from orchestration import ig_register
from orchestration.ig_register import decide, load_register, stale

AS_OF = dt.date(2026, 11, 23)


def _register(tmp_path, **icb):
    entry = {
        "status": "live",
        "agreement_reference": "DSA-1",
        "agreement_expires": "2027-03-31",
        "data_owner": "ICB BI",
        "contact": "icb@nhs.example",
        "freshness_limit_days": 45,
        **icb,
    }
    path = tmp_path / "register.yml"
    path.write_text(yaml.safe_dump({"feeds": {"icb_nd_referrals": entry}}))
    return load_register(path)


def test_the_committed_register_is_valid_and_lists_every_feed():
    register = load_register(ig_register.DEFAULT_PATH)
    assert {"la_case_management", "icb_nd_referrals", "icb_nd_waiting_list", "manual_returns"} <= set(register.feeds)


def test_a_live_feed_with_a_current_agreement_may_be_read(tmp_path):
    decision = decide("icb_nd_referrals", AS_OF, _register(tmp_path))
    assert decision.allowed and decision.reason == "" and decision.data_owner == "ICB BI"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": "suspended"}, "icb_nd_referrals is suspended in the IG register (DSA-1)"),
        ({"status": "pending_agreement"}, "icb_nd_referrals is pending agreement in the IG register (DSA-1)"),
        ({"agreement_expires": "2026-11-22"}, "data-sharing agreement DSA-1 expired on 2026-11-22"),
    ],
)
def test_a_suspended_pending_or_expired_feed_is_blocked(tmp_path, change, reason):
    decision = decide("icb_nd_referrals", AS_OF, _register(tmp_path, **change))
    assert not decision.allowed and reason in decision.reason


def test_the_agreement_is_valid_through_its_expiry_day(tmp_path):
    assert decide("icb_nd_referrals", AS_OF, _register(tmp_path, agreement_expires=str(AS_OF))).allowed


def test_data_older_than_the_freshness_limit_counts_as_blocked(tmp_path):
    register = _register(tmp_path)
    assert stale("icb_nd_referrals", AS_OF - dt.timedelta(days=45), AS_OF, register).allowed
    late = stale("icb_nd_referrals", AS_OF - dt.timedelta(days=46), AS_OF, register)
    assert not late.allowed and "46 days" in late.reason and "limit 45" in late.reason
    assert not stale("icb_nd_referrals", None, AS_OF, register).allowed


def test_an_invalid_register_names_the_file_and_the_field(tmp_path):
    with pytest.raises(ValueError, match=r"(?s)register\.yml.*status"):
        _register(tmp_path, status="live-ish")


def test_an_unknown_feed_must_be_registered_first(tmp_path):
    with pytest.raises(KeyError, match="not in the IG register"):
        decide("gp_records", AS_OF, _register(tmp_path))


def test_every_agreement_belongs_to_one_source_system():
    # Owner notices are per source system: the ICB's two agreements are one source, others are their own.
    register = load_register(ig_register.DEFAULT_PATH)
    assert {ig_register.source_of(f) for f in ("icb_nd_referrals", "icb_nd_waiting_list")} == {"icb_nd_pathway"}
    assert ig_register.source_of("la_case_management") == "la_case_management"
    ig_register.check_covers_registry(register)  # every feed's agreements are listed, nothing else


def test_a_register_missing_a_declared_agreement_or_naming_an_unknown_one_is_refused(tmp_path):
    entries = yaml.safe_load(ig_register.DEFAULT_PATH.read_text())
    del entries["feeds"]["icb_nd_waiting_list"]
    entries["feeds"]["icb_nd_referals"] = entries["feeds"]["icb_nd_referrals"]  # a typo
    path = tmp_path / "register.yml"
    path.write_text(yaml.safe_dump(entries))
    with pytest.raises(ValueError, match="no entry for icb_nd_waiting_list.*entries no feed declares: icb_nd_referals"):
        ig_register.check_covers_registry(load_register(path), path)


def _la_register(tmp_path, areas):
    entry = {
        "status": "live",
        "agreement_reference": "internal",
        "agreement_expires": None,
        "data_owner": "LA BI",
        "contact": "bi@la.example",
        "freshness_limit_days": 7,
        "areas": areas,
    }
    path = tmp_path / "register.yml"
    path.write_text(yaml.safe_dump({"feeds": {"la_case_management": entry}}))
    return load_register(path)


def test_an_la_s_own_terms_decide_for_that_la_alone(tmp_path):
    own = {
        "status": "suspended",
        "agreement_reference": "BPL-1",
        "data_owner": "Blackpool BI",
        "contact": "b@x.example",
    }
    register = _la_register(tmp_path, {"E06000009": own})
    blackpool = decide("la_case_management", AS_OF, register, area_code="E06000009")
    assert not blackpool.allowed and blackpool.area_code == "E06000009"
    assert blackpool.reason == "la_case_management for E06000009 is suspended in the IG register (BPL-1)"
    assert (blackpool.data_owner, blackpool.contact) == ("Blackpool BI", "b@x.example")
    lancashire = decide("la_case_management", AS_OF, register, area_code="E10000017")
    assert lancashire.allowed and lancashire.data_owner == "LA BI"  # no terms of its own: the feed's
    assert decide("la_case_management", AS_OF, register).allowed


def test_an_la_s_own_agreement_expires_and_freshness_limit_apply_to_it(tmp_path):
    register = _la_register(
        tmp_path,
        {"E06000008": {"agreement_reference": "BWD-2", "agreement_expires": "2026-11-01", "freshness_limit_days": 30}},
    )
    expired = decide("la_case_management", AS_OF, register, area_code="E06000008")
    assert not expired.allowed and "BWD-2 expired on 2026-11-01" in expired.reason
    newest = AS_OF - dt.timedelta(days=20)
    assert stale("la_case_management", newest, AS_OF, register, "E06000008").allowed  # its own 30 days
    assert not stale("la_case_management", newest, AS_OF, register, "E10000017").allowed  # the feed's 7


def test_an_la_s_terms_are_validated_like_the_feed_s(tmp_path):
    with pytest.raises(ValueError, match="status"):
        _la_register(tmp_path, {"E06000009": {"status": "paused"}})
    with pytest.raises(ValueError, match="Extra inputs"):
        _la_register(tmp_path, {"E06000009": {"owner": "typo"}})
