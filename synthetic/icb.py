"""Synthetic ICB monthly provider files for the neurodevelopmental (autism / ADHD) pathway.

Referrals are simulated per LA and pathway: they arrive with growing demand, most get a first
contact within weeks, then queue for an assessment slot (monthly capacity below demand, so waits
grow), and close with an outcome. About a third are children the LA's SEND service knows (same NHS
number), so the feeds link. Each provider drops one file a month: a person-level snapshot of every
referral open at the month end or closed during the month, or, where information governance
allows only aggregates, the waiting list by wait band.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synthetic import dirty, people
from synthetic.calibration import LaTargets, by_year
from synthetic.la_case_management import iso_text
from synthetic.la_world import DISTRICTS, LaWorld
from synthetic.timeline import Reveal, TableSpec, snapshot

D = np.timedelta64(1, "D")
NaT = np.datetime64("NaT", "D")
PATHWAYS = ("ASD", "ADHD")
# Referrals a year per child in the population (proxy: 20 children per EHC plan), by year.
REFERRAL_RATE = {"ASD": 0.0085, "ADHD": 0.0065}
DEMAND = {
    "ASD": {2019: 0.7, 2020: 0.55, 2021: 0.8, 2022: 0.9, 2023: 1.0, 2024: 1.12, 2025: 1.22, 2026: 1.3, 2027: 1.35},
    "ADHD": {2019: 0.5, 2020: 0.45, 2021: 0.7, 2022: 0.85, 2023: 1.0, 2024: 1.25, 2025: 1.45, 2026: 1.6, 2027: 1.7},
}
# Assessments started a year, as a share of the base referral rate: below demand, so waits grow.
CAPACITY = {2019: 0.9, 2021: 0.8, 2022: 0.72, 2023: 0.66, 2024: 0.64, 2025: 0.7, 2026: 0.76, 2027: 0.8}
SUPPORT_OFFERED = {2021: 0.25, 2022: 0.3, 2023: 0.35, 2024: 0.45, 2025: 0.55, 2026: 0.62, 2027: 0.65}
REFERRAL_SOURCES = (
    ["GP", "SCHOOL", "HEALTH_VISITOR", "PAEDIATRICS", "CAMHS", "PARENT", "OTHER"],
    [0.30, 0.28, 0.07, 0.12, 0.10, 0.08, 0.05],
)
AGE_BANDS = ["0-4", "5-10", "11-15", "16-17"]
WAIT_BANDS = ["0-4", "4-13", "13-18", "18-52", "52-104", "104+"]  # weeks waited, (lower, upper]
WAIT_EDGES = [4, 13, 18, 52, 104]
LINKED_SHARE = 0.3  # referrals of children the LA's SEND service knows

# Which provider (ODS code) runs each pathway for each LA, and its share of the referrals. RW5
# (the mental health trust) may only share aggregates.
PROVIDERS = {
    "E10000017": {
        "ASD": {"RXN": 0.35, "RXR": 0.30, "RXL": 0.10, "RTX": 0.25},
        "ADHD": {"RW5": 0.6, "RXN": 0.2, "RXR": 0.2},
    },
    "E06000009": {"ASD": {"RXL": 1.0}, "ADHD": {"RXL": 0.5, "RW5": 0.5}},
    "E06000008": {"ASD": {"RXR": 1.0}, "ADHD": {"RXR": 0.5, "RW5": 0.5}},
    "E06000064": {"ASD": {"RTX": 1.0}, "ADHD": {"RTX": 1.0}},
}  # fmt: skip
AGGREGATE_ONLY = {"RW5"}

COLUMNS = [
    "provider_ods_code",
    "snapshot_date",
    "referral_id",
    "nhs_number",
    "date_of_birth",
    "gender",
    "postcode",
    "local_authority_code",
    "pathway",
    "referral_source",
    "referral_received_date",
    "first_contact_date",
    "assessment_start_date",
    "outcome",
    "outcome_date",
    "support_offered",
    "support_offered_date",
    "last_updated",
]
WAITING_COLUMNS = [
    "provider_ods_code",
    "snapshot_date",
    "pathway",
    "local_authority_code",
    "age_band",
    "wait_band",
    "waiting",
    "with_support",
]
SPEC = TableSpec(
    "nd_referrals",
    reveals=(
        Reveal("first_contact_date", "_t_contact"),
        Reveal("assessment_start_date", "_t_start"),
        Reveal("outcome", "_t_outcome"),
        Reveal("outcome_date", "_t_outcome"),
        Reveal("support_offered", "_t_support", before="N"),
        Reveal("support_offered_date", "_t_support"),
    ),
    change_column="last_updated",
)
PLACES = dirty.ErrorPlaces(
    identifiers={"nd_referrals": {"nhs_number": "nhs_number"}},
    mandatory={"nd_referrals": ["referral_received_date", "pathway"]},
    unknown_codes={
        ("nd_referrals", "pathway"): ["AUTISM", "ADD", "ASC"],
        ("nd_referrals", "outcome"): ["DX", "COMPLETE"],
        ("nd_referrals", "gender"): ["3", "M", "F"],
    },
    untidy={"nd_referrals": ["pathway", "referral_source", "outcome"]},
    out_of_order={"nd_referrals": ("assessment_start_date", "referral_received_date")},
    future={"nd_referrals": ("referral_received_date", "typo_decade")},
)
FILE_PROBLEMS = ["byte_order_mark", "crlf", "semicolons", "misnamed", "resubmitted", "renamed_column",
                 "extra_column", "reordered_columns", "day_first_dates"]  # fmt: skip


def providers_for(area_code: str, old_la_code: str) -> dict[str, dict[str, float]]:
    if area_code in PROVIDERS:
        return PROVIDERS[area_code]
    la = int(old_la_code)
    adhd = f"M{la:03d}" if la % 5 == 0 else f"N{la:03d}"  # some trusts share aggregates only
    return {"ASD": {f"N{la:03d}": 1.0}, "ADHD": {adhd: 1.0}}


def is_aggregate_only(ods: str) -> bool:
    return ods in AGGREGATE_ONLY or ods.startswith("M")


@dataclass
class NdWorld:
    area_code: str
    referrals: pd.DataFrame  # world table (see synthetic.timeline)


def simulate(world: LaWorld, seed: int, start_year: int, nhs_start: int) -> NdWorld:
    """Referrals for one LA from `start_year` to the LA world's horizon."""
    targets: LaTargets = world.targets
    la = int(targets.old_la_code)
    rng = np.random.default_rng(np.random.SeedSequence([seed, la, 5]))
    population = 20 * targets.scaled(targets.plans, 2025)
    end = np.datetime64(world.horizon, "D")
    parts = []
    for pathway in PATHWAYS:
        for provider, share in providers_for(targets.area_code, targets.old_la_code)[pathway].items():
            parts.append(_pathway(rng, pathway, provider, population * share, start_year, end))
    refs = pd.concat(parts, ignore_index=True)
    n = len(refs)
    received = refs["referral_received_date"].to_numpy("datetime64[D]")

    # A share are children the LA knows (same NHS number); the rest get numbers of their own.
    known = world.people
    known = known[known["nhs_number"].notna()].reset_index(drop=True)
    linked = rng.random(n) < LINKED_SHARE
    if len(known) == 0:
        linked[:] = False
    pick = rng.integers(0, max(len(known), 1), n)
    known_dob = known["dob"].to_numpy("datetime64[D]")[pick] if len(known) else np.full(n, NaT)
    age_days = (received - known_dob) // D if len(known) else np.zeros(n, dtype=np.int64)
    linked &= (age_days > 2 * 365) & (age_days < 17 * 365)
    age = np.where(refs["pathway"] == "ASD", rng.gamma(4.0, 1.6, n) + 1.5, rng.gamma(6.0, 1.4, n) + 3.0)
    dob = received - (np.clip(age, 2, 17.9) * 365.25).astype(np.int64) * D
    dob = np.where(linked, known_dob, dob)
    own = people.nhs_numbers_from_pool(people.nhs_pool(seed), nhs_start, n)
    nhs = np.where(linked, known["nhs_number"].to_numpy(dtype=object)[pick] if len(known) else None, own)
    nhs = np.where(rng.random(n) < 0.985, nhs, None)
    male = rng.random(n) < np.where(refs["pathway"] == "ASD", 0.68, 0.65)
    gender = np.where(male, "1", "2")
    gender = np.where(rng.random(n) < 0.01, rng.choice(["9", "X"], n), gender)
    districts = DISTRICTS.get(targets.area_code, [f"ZZ{k}" for k in range(1, 10)])
    postcode = np.where(
        linked,
        known["postcode"].to_numpy(dtype=object)[pick] if len(known) else None,
        people.postcodes(rng, n, districts),
    )
    refs = refs.assign(
        nhs_number=nhs,
        date_of_birth=dob,
        gender=gender,
        postcode=postcode,
        local_authority_code=targets.area_code,
        referral_source=rng.choice(REFERRAL_SOURCES[0], n, p=REFERRAL_SOURCES[1]),
    )
    refs = refs.sort_values(["_created", "provider_ods_code"], kind="stable").reset_index(drop=True)
    refs["referral_id"] = pd.Series(
        [
            f"{ods}-{la:03d}{pathway[:3]}{i:07d}"
            for i, (ods, pathway) in enumerate(zip(refs["provider_ods_code"], refs["pathway"], strict=True))
        ],
        index=refs.index,
        dtype=object,
    )
    refs["_deleted"] = NaT
    refs["_minute"] = rng.integers(0, 600, len(refs))
    return NdWorld(targets.area_code, refs)


def _pathway(rng, pathway, provider, population, start_year, end) -> pd.DataFrame:
    years = range(start_year, end.astype(object).year + 1)
    received = []
    for year in years:
        expected = population * REFERRAL_RATE[pathway] * by_year(DEMAND[pathway], year)
        n = int(rng.poisson(expected))
        received.append(np.datetime64(dt.date(year, 1, 1), "D") + rng.integers(0, 365, n) * D)
    received = np.sort(np.concatenate(received))
    received = received[received <= end]
    n = len(received)
    year = received.astype("datetime64[Y]").astype(np.int64) + 1970
    rejected = rng.random(n) < 0.08
    triage = received + rng.integers(14, 57, n) * D
    contact_weeks = rng.gamma(2.0, np.clip(3.0 + 1.2 * (year - 2021), 2.5, 9.0))
    contact = received + (contact_weeks * 7).astype(np.int64) * D
    support_p = np.array([by_year(SUPPORT_OFFERED, int(y)) for y in year])
    support = np.where(~rejected & (rng.random(n) < support_p), contact + rng.integers(0, 61, n) * D, NaT).astype(
        "datetime64[D]"
    )
    # Children leave the list before assessment (moved away, withdrawn): about 4% a year.
    leave = received + (rng.exponential(365 / 0.04, n)).astype(np.int64) * D
    start = _queue(rng, received, ~rejected, year, end, population * REFERRAL_RATE[pathway], leave)
    assessed = ~np.isnat(start)
    finished = start + rng.integers(28, 121, n) * D
    result = rng.choice(["DIAGNOSED", "NOT_DIAGNOSED", "DISCHARGED"], n, p=[0.68, 0.27, 0.05])
    left = ~rejected & ~assessed & (leave <= end)
    outcome = np.select([rejected, assessed, left], ["REJECTED", result, "DISCHARGED"], None).astype(object)
    outcome = np.where(left & (rng.random(n) < 0.2), "TRANSFERRED", outcome)
    outcome_at = np.select([rejected, assessed, left], [triage, finished, leave], NaT).astype("datetime64[D]")
    contact = np.where(rejected, NaT, np.minimum(contact, np.where(assessed, start, contact))).astype("datetime64[D]")
    return pd.DataFrame(
        {
            "provider_ods_code": provider,
            "pathway": pathway,
            "referral_received_date": received,
            "first_contact_date": contact,
            "assessment_start_date": start,
            "outcome": outcome,
            "outcome_date": outcome_at,
            "support_offered": np.where(np.isnat(support), "N", "Y"),
            "support_offered_date": support,
            "_created": received,
            "_t_contact": contact,
            "_t_start": start,
            "_t_outcome": outcome_at,
            "_t_support": support,
        }
    )


def _queue(rng, received, eligible, year, end, base_rate, leave) -> np.ndarray:
    """Assessment starts, month by month, for the month's capacity; mostly first come first served."""
    start = np.full(len(received), NaT)
    waiting = eligible.copy()
    priority = (received - received.min()) // D - (rng.random(len(received)) < 0.1) * 180 if len(received) else received
    first = received.min() if len(received) else end
    month = np.datetime64(first, "M")
    carry = 0.0
    while month.astype("datetime64[D]") <= end:
        m_start = month.astype("datetime64[D]")
        m_end = (month + 1).astype("datetime64[D]") - 1 * D
        y = int(month.astype("datetime64[Y]").astype(np.int64) + 1970)
        slots_f = base_rate * by_year(CAPACITY, y) * 1.0 / 12 + carry
        slots = int(slots_f)
        carry = slots_f - slots
        candidates = np.flatnonzero(waiting & (received + 28 * D <= m_end) & (leave > m_end))
        chosen = candidates[np.argsort(priority[candidates], kind="stable")[:slots]]
        start[chosen] = m_start + rng.integers(0, 28, len(chosen)) * D
        waiting[chosen] = False
        month += 1
    return start


# ---------------------------------------------------------------------------------------------
# Monthly files


def month_ends(as_of: dt.date, months: int) -> list[dt.date]:
    """The last `months` complete month ends up to `as_of`."""
    last = pd.Timestamp(as_of) + pd.offsets.MonthEnd(0)
    if last.date() > as_of:
        last = last - pd.offsets.MonthEnd(1)
    return [(last - pd.offsets.MonthEnd(k)).date() for k in range(months - 1, -1, -1)]


def referral_snapshot(world: pd.DataFrame, errors: pd.DataFrame | None, month_end: dt.date) -> pd.DataFrame:
    """Referrals open at the month end or closed during the month, as the provider holds them."""
    columns = [c for c in COLUMNS if c not in ("snapshot_date", "last_updated")]
    snap = snapshot(world, SPEC, month_end, columns)
    closed = pd.to_datetime(snap["outcome_date"])
    month_start = pd.Timestamp(month_end).replace(day=1)
    snap = snap[closed.isna() | (closed >= month_start)]
    snap = dirty.apply_errors(snap, errors, "referral_id", month_end)
    snap = snap.reset_index(drop=True)
    snap["snapshot_date"] = pd.Timestamp(month_end)
    minutes = snap["_minute"].to_numpy().astype("timedelta64[m]")
    snap["last_updated"] = snap["_changed"].to_numpy("datetime64[D]").astype("datetime64[m]") + 480 + minutes
    return snap[COLUMNS]


def waiting_list(world: pd.DataFrame, month_end: dt.date) -> pd.DataFrame:
    """Children waiting for an assessment to start at the month end, by pathway, LA, age and wait."""
    snap = snapshot(world, SPEC, month_end, [c for c in COLUMNS if c not in ("snapshot_date", "last_updated")])
    served = snap[["provider_ods_code", "pathway", "local_authority_code"]].drop_duplicates()
    waiting = snap[snap["assessment_start_date"].isna() & snap["outcome"].isna()]
    at = pd.Timestamp(month_end)
    weeks = (at - pd.to_datetime(waiting["referral_received_date"])).dt.days / 7
    age = (at - pd.to_datetime(waiting["date_of_birth"])).dt.days / 365.25
    frame = pd.DataFrame(
        {
            "provider_ods_code": waiting["provider_ods_code"],
            "pathway": waiting["pathway"],
            "local_authority_code": waiting["local_authority_code"],
            "age_band": pd.cut(age, [-1, 5, 11, 16, 200], labels=AGE_BANDS, right=False).astype(str),
            "wait_band": pd.cut(weeks, [-1, *WAIT_EDGES, 10_000], labels=WAIT_BANDS).astype(str),
            "with_support": (waiting["support_offered"] == "Y").astype(int),
        }
    )
    counts = frame.groupby(["provider_ods_code", "pathway", "local_authority_code", "age_band", "wait_band"]).agg(
        waiting=("with_support", "size"), with_support=("with_support", "sum")
    )
    # Every band of every pathway and LA the provider serves, zeros included, as a return template has.
    bands = pd.MultiIndex.from_product([AGE_BANDS, WAIT_BANDS], names=["age_band", "wait_band"]).to_frame(index=False)
    grid = served.merge(bands, how="cross").sort_values(list(counts.index.names))
    counts = counts.reindex(pd.MultiIndex.from_frame(grid), fill_value=0).reset_index()
    counts.insert(1, "snapshot_date", at.date())
    return counts[WAITING_COLUMNS]


@dataclass
class FileWriter:
    """Writes provider files with the file-level problems real drops have, at a chosen rate."""

    folder: Path
    rate: float
    seed: int

    def write(self, ods: str, kind: str, month_end: dt.date, frame: pd.DataFrame) -> list[Path]:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, _code(ods), month_end.toordinal(), len(kind)]))
        period = f"{month_end:%Y%m}"
        name = f"{ods}_ND_{kind}_{period}.csv"
        problems = [p for p in FILE_PROBLEMS if rng.random() < min(self.rate * 2, 0.5)] if self.rate else []
        frame = frame.copy()
        if self.rate and kind == "REFERRALS" and len(frame):
            repeat = frame.sample(n=int(rng.binomial(len(frame), self.rate * 0.12)), random_state=rng)
            frame = pd.concat([frame, repeat]).sort_index(kind="stable").reset_index(drop=True)  # exact duplicates
        day_first = "day_first_dates" in problems
        text = _as_text(frame, day_first)
        if "renamed_column" in problems:
            text = text.rename(columns={text.columns[-2]: text.columns[-2].upper().replace("_", " ")})
        if "extra_column" in problems:
            text["notes"] = ""
        if "reordered_columns" in problems:
            text = text[list(reversed(text.columns))]
        if "misnamed" in problems:
            name = f"{ods} ND {kind.lower()} {month_end:%b %Y}.csv"
        written = []
        path = self.folder / name
        self._to_csv(text, path, problems)
        written.append(path)
        if "resubmitted" in problems and len(text):  # the provider resends the month with fixes
            fixed = _as_text(frame.drop_duplicates(), False)
            path2 = self.folder / name.replace(".csv", "_v2.csv")
            self._to_csv(fixed, path2, [])
            written.append(path2)
        return written

    def _to_csv(self, text: pd.DataFrame, path: Path, problems: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        sep = ";" if "semicolons" in problems else ","
        newline = "\r\n" if "crlf" in problems else "\n"
        encoding = "utf-8-sig" if "byte_order_mark" in problems else "utf-8"
        text.to_csv(path, index=False, sep=sep, lineterminator=newline, encoding=encoding)


def _as_text(frame: pd.DataFrame, day_first: bool) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if column.endswith("_date") or column == "date_of_birth":
            values = pd.to_datetime(out[column], errors="coerce")
            if day_first:
                out[column] = values.dt.strftime("%d/%m/%Y").astype(object).where(values.notna(), None)
            else:
                out[column] = iso_text(values, "D")
        elif column == "last_updated":
            out[column] = iso_text(pd.to_datetime(out[column], errors="coerce"), "s")
    return out


def _code(ods: str) -> int:
    return int.from_bytes(ods.encode(), "big") % (2**31)


def draw_errors(referrals: pd.DataFrame, rate: float, seed: int, la: int) -> pd.DataFrame | None:
    """Value errors and deletions in the providers' systems (the same in every month's file)."""
    if rate <= 0:
        return None
    rng = np.random.default_rng(np.random.SeedSequence([seed, la, 6]))
    errors = dirty.draw_errors({"nd_referrals": referrals}, {"nd_referrals": "referral_id"}, {"nd_referrals": SPEC},
                               rate, rng, PLACES)  # fmt: skip
    return errors.get("nd_referrals")


def delete_some(referrals: pd.DataFrame, rate: float, seed: int, la: int) -> pd.DataFrame:
    """Referrals entered in error and deleted later: they vanish from later files without an outcome."""
    if rate <= 0:
        return referrals
    rng = np.random.default_rng(np.random.SeedSequence([seed, la, 7]))
    chosen = rng.random(len(referrals)) < rate * dirty.KIND_WEIGHTS["deleted"]
    created = referrals["_created"].to_numpy("datetime64[D]")
    deleted = np.where(chosen, created + rng.integers(20, 300, len(referrals)) * D, NaT)
    return referrals.assign(_deleted=deleted)
