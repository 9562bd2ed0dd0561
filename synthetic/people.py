"""Synthetic identifiers: NHS numbers only from the never-issued 999 000 0000-999 999 9999 range."""

from __future__ import annotations

import numpy as np

from ingestion.identifiers import nhs_number_check_digit, upn_check_letter

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


def nhs_numbers(rng: np.random.Generator, n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        body = f"999{rng.integers(0, 1_000_000):06d}"
        check = nhs_number_check_digit(body)
        if check is not None:
            out.append(f"{body}{check}")
    return out


def upns(rng: np.random.Generator, la_code: str, n: int) -> list[str]:
    out = []
    for _ in range(n):
        body = f"{la_code}{rng.integers(0, 10_000):04d}{rng.integers(10, 26):02d}{rng.integers(0, 1000):03d}"
        out.append(upn_check_letter(body) + body)
    return out


def postcodes(rng: np.random.Generator, n: int) -> list[str]:
    districts = rng.choice(LANCASHIRE_DISTRICTS, n)
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return [f"{d} {rng.integers(1, 10)}{letters[rng.integers(0, 20)]}{letters[rng.integers(0, 20)]}" for d in districts]
