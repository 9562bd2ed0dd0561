"""Identifier validation (NHS number, UPN, ULN) and keyed pseudonymisation.

Raw identifiers are replaced at ingestion by an HMAC-SHA256 keyed hash. The key is the same for
every feed so a child links between LA and NHS data; it comes from the environment (or an Airflow
connection, resolved by the caller), never from the repository.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

KEY_ENV_VAR = "SEND_PSEUDONYMISATION_KEY"
_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # DfE check-letter alphabet: no I, O or S


class MissingKeyError(RuntimeError):
    pass


def nhs_number_check_digit(first_nine: str) -> int | None:
    """Modulus-11 check digit for the first nine digits; None where no valid digit exists."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs_number(value: str | None) -> bool:
    if value is None:
        return False
    digits = value.replace(" ", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    return nhs_number_check_digit(digits[:9]) == int(digits[9])


def upn_check_letter(body: str) -> str:
    """Check letter for the 12 characters after it (DfE UPN specification, weights 2..13, mod 23)."""
    total = 0
    for weight, char in enumerate(body, start=2):
        total += weight * (int(char) if char.isdigit() else _UPN_LETTERS.index(char))
    return _UPN_LETTERS[total % 23]


def is_valid_upn(value: str | None) -> bool:
    if value is None or len(value) != 13:
        return False
    value = value.upper()
    body = value[1:]
    if not body[:11].isdigit() or not (body[11].isdigit() or body[11] in _UPN_LETTERS):
        return False
    return value[0] == upn_check_letter(body)


def is_valid_uln(value: str | None) -> bool:
    """Unique Learner Number: ten digits, not starting with zero."""
    return value is not None and len(value) == 10 and value.isdigit() and value[0] != "0"


VALIDATORS = {
    "nhs_number": is_valid_nhs_number,
    "upn": is_valid_upn,
    "uln": is_valid_uln,
    "la_person_id": lambda v: v is not None and 0 < len(v) <= 48,
}


def load_key(env: dict[str, str] | None = None) -> bytes:
    key = (env if env is not None else os.environ).get(KEY_ENV_VAR, "")
    if len(key) < 32:
        raise MissingKeyError(
            f"{KEY_ENV_VAR} must hold the pseudonymisation key (at least 32 characters); "
            "set it in the environment or the Airflow secrets backend"
        )
    return key.encode()


@lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    return hmac.new(key, digestmod=hashlib.sha256)


def pseudonymise(key: bytes, kind: str, value: str, scope: str = "") -> str:
    """Keyed hash of one identifier. `scope` separates id spaces that are only unique locally (LA ids)."""
    digest = _keyed(key).copy()  # the key's pads worked out once, not per value
    digest.update(f"{kind}:{scope}:{''.join(value.split()).upper()}".encode())
    return digest.hexdigest()[:32]


# Outward code (district) and inward code of a UK postcode, however it is written: any case, with
# one space, several or none ("PR1 2AB", "pr12ab", " PR1  2AB "). A district alone ("PR1") is kept.
_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})?")


def postcode_district(value: str | None) -> str | None:
    """The district (outward code) of a UK postcode; None when the value is not a postcode."""
    if value is None:
        return None
    found = _POSTCODE.fullmatch("".join(value.split()).upper())
    return found.group(1) if found else None


# -- the same rules over many values at once (distinct values of a column: Arrow in, numpy out) --------
# Printable ASCII is where Arrow's and Python's string rules agree (whitespace, digits, case); any other
# value goes through the function above, so the results are the same value for value.
PRINTABLE_ASCII = r"^[\x20-\x7e]*$"
_NHS_WEIGHTS = np.arange(10, 1, -1)


def flags(mask: pa.Array) -> np.ndarray:
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _nhs_check(digits: pa.Array) -> np.ndarray:
    """Modulus 11 of values of exactly ten ASCII digits."""
    wide = pa.types.is_large_string(digits.type)
    offsets = np.frombuffer(digits.buffers()[1], dtype=np.int64 if wide else np.int32)
    start = offsets[digits.offset]
    data = np.frombuffer(digits.buffers()[2], dtype=np.uint8)[start : start + 10 * len(digits)]
    numbers = data.reshape(-1, 10).astype(np.int64) - ord("0")
    check = 11 - (numbers[:, :9] @ _NHS_WEIGHTS) % 11
    check[check == 11] = 0
    return check == numbers[:, 9]  # a check of 10 never equals a digit: invalid


def each_value(values: pa.Array, at_once, one, dtype=object) -> np.ndarray:
    """`at_once` over the printable-ASCII values (Arrow in, numpy out), `one` of every other value."""
    plain = flags(pc.match_substring_regex(values, PRINTABLE_ASCII))
    if plain.all():
        return at_once(values)
    results = np.zeros(len(values), dtype=dtype) if dtype is bool else np.empty(len(values), dtype=dtype)
    if plain.any():
        results[plain] = at_once(values.filter(pa.array(plain)))
    for i in np.flatnonzero(~plain):
        results[i] = one(values[i].as_py())
    return results


def valid_nhs_numbers(values: pa.Array) -> np.ndarray:
    """`is_valid_nhs_number` of each value: printable ASCII other than ten digits (spaces aside) is none."""

    def at_once(plain: pa.Array) -> np.ndarray:
        squeezed = pc.replace_substring(plain, " ", "")
        ten = flags(pc.match_substring_regex(squeezed, r"^[0-9]{10}$"))
        valid = np.zeros(len(plain), dtype=bool)
        if ten.any():
            valid[ten] = _nhs_check(squeezed.filter(pa.array(ten)))
        return valid

    return each_value(values, at_once, is_valid_nhs_number, bool)


def as_hashed(values: pa.Array) -> pa.Array:
    """Each identifier as `pseudonymise` reads it (no whitespace, upper case); null where blank. Arrow
    out, not `each_value`'s numpy: it is the extract's key text, on every row of a table."""
    plain = flags(pc.match_substring_regex(values, PRINTABLE_ASCII))
    text = pc.utf8_upper(pc.replace_substring(values, " ", ""))
    if not plain.all():
        each = text.to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(~plain & values.is_valid().to_numpy(zero_copy_only=False)):
            each[i] = "".join(values[i].as_py().split()).upper()
        text = pa.array(each, values.type)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)


def postcode_districts(values: pa.Array) -> np.ndarray:
    """`postcode_district` of each value."""

    def at_once(plain: pa.Array) -> np.ndarray:
        squeezed = pc.utf8_upper(pc.replace_substring(plain, " ", ""))
        found = pc.extract_regex(squeezed, r"^(?P<district>[A-Z]{1,2}[0-9][A-Z0-9]?)(?P<inward>[0-9][A-Z]{2})?$")
        return pc.struct_field(found, "district").to_numpy(zero_copy_only=False)  # null where none

    return each_value(values, at_once, postcode_district)
