"""Synthetic identifiers. NHS numbers only from the never-issued 999 000 0000-999 999 9999 range.

Numbers are unique within a pool: a seeded affine permutation of the valid numbers, so any slice of
it is free of repeats without keeping a set of numbers already used.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from ingestion.identifiers import upn_check_letter

LANCASHIRE_DISTRICTS = [
    "PR1",
    "PR2",
    "PR7",
    "BB1",
    "BB2",
    "BB5",
    "BB9",
    "LA1",
    "LA3",
    "FY5",
    "FY8",
    "L39",
    "WN8",
]
_POSTCODE_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


@cache
def valid_nhs_bodies() -> np.ndarray:
    """All nine-digit bodies 999000000..999999999 that have a valid modulus-11 check digit."""
    bodies = np.arange(999_000_000, 1_000_000_000, dtype=np.int64)
    digits = (bodies[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    total = digits @ np.arange(10, 1, -1)
    check = 11 - total % 11
    check = np.where(check == 11, 0, check)
    keep = check != 10
    return bodies[keep] * 10 + check[keep]


class Permutation:
    """i -> (a*i + b) mod n: a bijection on range(n), seeded."""

    def __init__(self, rng: np.random.Generator, n: int):
        self.n = n
        while True:
            a = int(rng.integers(n // 3, n - 1))
            if math.gcd(a, n) == 1:
                break
        self.a, self.b = a, int(rng.integers(0, n))

    def __call__(self, index: np.ndarray) -> np.ndarray:
        return (self.a * (np.asarray(index, dtype=np.int64) % self.n) + self.b) % self.n


def nhs_pool(seed: int) -> Permutation:
    """The scale's one permutation of the pool: LAs take disjoint slices of it, so numbers never
    repeat across LAs until the pool (about 909,000 numbers) runs out."""
    return Permutation(np.random.default_rng(np.random.SeedSequence([seed, 999])), len(valid_nhs_bodies()))


def nhs_numbers_from_pool(perm: Permutation, start: int, n: int) -> np.ndarray:
    """n distinct valid synthetic NHS numbers: slice [start, start+n) of the permuted pool."""
    pool = valid_nhs_bodies()
    return pool[perm(np.arange(start, start + n))].astype(str)


def nhs_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """n distinct valid synthetic NHS numbers."""
    return nhs_numbers_from_pool(Permutation(rng, len(valid_nhs_bodies())), 0, n).tolist()


def upns(rng: np.random.Generator, la_code: str, n: int, year_allocated: np.ndarray | None = None) -> list[str]:
    """n distinct UPNs for an LA: LA code, 4-digit establishment, 2-digit year, 3-digit serial."""
    serial = Permutation(rng, 10_000_000)(np.arange(n))  # establishment and serial together
    years = year_allocated if year_allocated is not None else rng.integers(10, 26, n)
    out = []
    for s, y in zip(serial.tolist(), np.asarray(years).tolist(), strict=True):
        body = f"{la_code[:3]:0>3}{s // 1000:04d}{int(y) % 100:02d}{s % 1000:03d}"
        out.append(upn_check_letter(body) + body)
    return out


def ulns(rng: np.random.Generator, n: int, start: int = 0) -> np.ndarray:
    """n distinct ten-digit Unique Learner Numbers (first digit 9: well away from ones in use);
    slice [start, start+n) of the permutation `rng` makes."""
    return (9_000_000_000 + Permutation(rng, 1_000_000_000)(np.arange(start, start + n))).astype(str)


def postcodes(rng: np.random.Generator, n: int, districts: list[str] | None = None) -> list[str]:
    districts_drawn = rng.choice(districts or LANCASHIRE_DISTRICTS, n)
    sector = rng.integers(1, 10, n)
    unit = _POSTCODE_LETTERS[rng.integers(0, 20, (n, 2))]
    return [f"{d} {s}{u[0]}{u[1]}" for d, s, u in zip(districts_drawn, sector, unit, strict=True)]


def bad_upn(rng: np.random.Generator, upn: str) -> str:
    """A UPN with the wrong check letter (or one character too many)."""
    if rng.random() < 0.3:
        return upn + str(rng.integers(0, 10))
    wrong = [c for c in _UPN_LETTERS if c != upn[0]]
    return wrong[int(rng.integers(0, len(wrong)))] + upn[1:]


def bad_nhs_number(rng: np.random.Generator, number: str) -> str:
    """An NHS number that fails the modulus-11 check (wrong digit, short, or a typo letter)."""
    kind = rng.random()
    if kind < 0.6:
        last = (int(number[-1]) + int(rng.integers(1, 10))) % 10
        return number[:-1] + str(last)
    if kind < 0.8:
        return number[:-1]
    return number[:4] + "O" + number[5:]  # letter O for zero
