import numpy as np
import pyarrow as pa
import pytest

from ingestion import identifiers
from synthetic import people


@pytest.mark.parametrize("number", ["9434765919", "4010232137", "943 476 5919"])
def test_known_valid_nhs_numbers(number):
    assert identifiers.is_valid_nhs_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "9434765918",  # wrong check digit
        "943476591",  # nine digits
        "94347659190",  # eleven digits
        "94347A5919",  # not a number
        "",
        None,
    ],
)
def test_invalid_nhs_numbers(number):
    assert not identifiers.is_valid_nhs_number(number)


def test_nhs_body_whose_check_digit_would_be_ten_is_never_valid():
    # 1*10 + 0*9 + ... + 0*2 = 10 -> 11 - 10 = 1; find a body with remainder 1 -> check 10.
    # 0000000 06: 6*2 = 12 -> 12 % 11 = 1 -> check 10
    assert identifiers.nhs_number_check_digit("000000006") is None
    assert not any(identifiers.is_valid_nhs_number(f"000000006{d}") for d in range(10))


def test_upn_check_letter_worked_by_hand():
    # body 888000124001: weights 2..13 -> 8*2+8*3+8*4+0*5+0*6+0*7+1*8+2*9+4*10+0*11+0*12+1*13 = 151
    # 151 % 23 = 13 -> 14th letter of ABCDEFGHJKLMNPQRTUVWXYZ = P
    assert identifiers.upn_check_letter("888000124001") == "P"
    assert identifiers.is_valid_upn("P888000124001")
    assert not identifiers.is_valid_upn("Q888000124001")
    assert not identifiers.is_valid_upn("P88800012400")  # twelve characters


def test_uln_is_ten_digits_not_starting_with_zero():
    assert identifiers.is_valid_uln("1234567890")
    assert not identifiers.is_valid_uln("0234567890")
    assert not identifiers.is_valid_uln("123456789")


def test_synthetic_identifiers_are_valid_and_never_issued():
    rng = np.random.default_rng(1)
    numbers = people.nhs_numbers(rng, 500)
    assert all(identifiers.is_valid_nhs_number(n) for n in numbers)
    assert all(9_990_000_000 <= int(n) <= 9_999_999_999 for n in numbers)
    assert all(identifiers.is_valid_upn(u) for u in people.upns(rng, "888", 200))


def test_pseudonym_is_keyed_stable_and_format_blind():
    key = b"k" * 32
    a = identifiers.pseudonymise(key, "nhs_number", "943 476 5919")
    assert a == identifiers.pseudonymise(key, "nhs_number", "9434765919")
    assert a != identifiers.pseudonymise(b"j" * 32, "nhs_number", "9434765919")
    assert a != identifiers.pseudonymise(key, "upn", "9434765919")
    assert "9434765919" not in a


def test_missing_or_short_key_is_refused():
    with pytest.raises(identifiers.MissingKeyError):
        identifiers.load_key({})
    with pytest.raises(identifiers.MissingKeyError):
        identifiers.load_key({identifiers.KEY_ENV_VAR: "short"})


def test_every_invalid_identifier_the_generator_makes_is_caught():
    rng = np.random.default_rng(3)
    numbers = people.nhs_numbers(rng, 300)
    assert not any(identifiers.is_valid_nhs_number(people.bad_nhs_number(rng, n)) for n in numbers)
    upns = people.upns(rng, "888", 300)
    assert not any(identifiers.is_valid_upn(people.bad_upn(rng, u)) for u in upns)
    assert not any(identifiers.is_valid_uln(u[:-1]) for u in people.ulns(rng, 50).astype(str))  # nine digits


@pytest.mark.parametrize(
    ("upn", "valid"),
    [
        ("P888000124001", True),
        ("p888000124001", True),  # case does not matter
        ("A888000124001", False),
        ("P8880001240O1", False),  # letter O typed for zero
        ("P888000124001 ", False),  # fourteen characters
        ("I888000124001", False),  # I, O and S are never check letters
    ],
)
def test_upn_examples(upn, valid):
    assert identifiers.is_valid_upn(upn) is valid


def _awkward_values() -> list[str]:
    """Identifiers, postcodes and key parts as people and systems write them, and random mixes of
    digits, letters, spaces, tabs, non-breaking spaces and non-ASCII digits (seeded)."""
    rng = np.random.default_rng(7)
    written = ["9434765919", "943 476 5919", " 9434765919 ", "943476591", "94347659190", "943476591X",
               "0000000000", "١٢٣٤٥٦٧٨٩٠", "9434765919\x0b", "pr1 2ab", "PR12AB", "pr1", "  PR1  2AB", "W1A 1AA",
               "EC1A1BB", "A11AA", "AA1A 1AA", "pr1\t2ab", "PR1\u00a02AB", "ß1 2AB", "E10000017", "E100000171",
               "E06000008|x", "17/11/1994", "1994-11-17", "REF-0001234567", "A801200001001", "x" * 70, ""]  # fmt: skip
    alphabet = list("0123456789 ABCPRWXabc-/\t\u00a0١")
    mixes = ["".join(rng.choice(alphabet, size=rng.integers(0, 14))) for _ in range(5_000)]
    checked = []
    for body in rng.integers(100_000_000, 999_999_999, size=5_000):
        digit = identifiers.nhs_number_check_digit(str(body))
        checked.append(f"{body}{digit if digit is not None else 0}")
    return written + mixes + checked


def test_rules_over_many_values_at_once_match_the_rule_for_one():
    """The Arrow forms the intake uses on a column's distinct values give each value's result exactly."""
    from ingestion import contract

    values = _awkward_values()
    array = pa.array(values, pa.large_string())
    nhs = identifiers.valid_nhs_numbers(array)
    districts = identifiers.postcode_districts(array)
    personal = contract._personal_in_keys(array)
    assert [bool(v) for v in nhs] == [identifiers.is_valid_nhs_number(v) for v in values]
    assert list(districts) == [identifiers.postcode_district(v) for v in values]
    assert [bool(v) for v in personal] == [contract._looks_personal_in_key(v) for v in values]
    assert identifiers.as_hashed(array).to_pylist() == ["".join(v.split()).upper() or None for v in values]
    assert 4_000 < sum(nhs) < 6_000 and sum(d is not None for d in districts) > 50 and sum(personal) > 1_000
