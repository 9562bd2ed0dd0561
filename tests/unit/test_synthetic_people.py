import numpy as np

from ingestion import identifiers
from synthetic import people


def test_nhs_pool_holds_only_valid_never_issued_numbers():
    pool = people.valid_nhs_bodies()
    assert 900_000 < len(pool) < 920_000  # 1 in 11 bodies has no valid check digit
    sample = pool[np.random.default_rng(0).choice(len(pool), 2000, replace=False)].astype(str)
    assert all(identifiers.is_valid_nhs_number(n) and n.startswith("999") for n in sample)


def test_pool_slices_are_unique_and_disjoint():
    perm = people.Permutation(np.random.default_rng(5), len(people.valid_nhs_bodies()))
    a = people.nhs_numbers_from_pool(perm, 0, 50_000)
    b = people.nhs_numbers_from_pool(perm, 50_000, 50_000)
    assert len(set(a)) == len(a) and not set(a) & set(b)


def test_upns_and_ulns_are_valid_and_unique():
    rng = np.random.default_rng(2)
    upns = people.upns(rng, "888", 5000)
    assert len(set(upns)) == 5000 and all(identifiers.is_valid_upn(u) and u[1:4] == "888" for u in upns)
    ulns = people.ulns(rng, 5000)
    assert len(set(ulns)) == 5000 and all(identifiers.is_valid_uln(u) for u in ulns)


def test_deliberately_bad_identifiers_fail_their_checks():
    rng = np.random.default_rng(3)
    good_nhs = people.nhs_numbers(rng, 300)
    assert not any(identifiers.is_valid_nhs_number(people.bad_nhs_number(rng, n)) for n in good_nhs)
    good_upns = people.upns(rng, "888", 300)
    assert not any(identifiers.is_valid_upn(people.bad_upn(rng, u)) for u in good_upns)
