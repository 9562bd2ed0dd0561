"""Published DfE figures per local authority that the synthetic generator is calibrated against.

The generator reads a small table shipped in the package (`data/dfe_la_targets.csv`, one row per LA
plus England), built from the DfE "Education, health and care plans" 2025 release (Open Government
Licence v3.0) by:

    python -m synthetic.calibration ../shared/reference/dfe_ehcp_2025

`LaTargets` turns a row into yearly targets, extrapolating beyond the published years and falling
back to England's rates where an LA's figure is `x` (not available).
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

TARGETS_PATH = Path(__file__).parent / "data" / "dfe_la_targets.csv"
ENGLAND = "E92000001"
CENSUS_YEARS = range(2019, 2026)  # January censuses in the release (time_period 201819 .. 202425)
FLOW_YEARS = range(2019, 2025)  # calendar years in the release
NEED_CODES = ["ASD", "HI", "MLD", "MSI", "OTH", "PD", "PMLD", "SEMH", "SLCN", "SLD", "SPLD", "VI"]
SETTING_GROUPS = ["MAINSTREAM", "SPECIAL", "AP_PRU", "FE", "EDUCATED_ELSEWHERE", "EARLY_YEARS", "NOT_RECORDED"]
_SETTING_COLUMNS = {
    "MAINSTREAM": "mainstream_total",
    "SPECIAL": "special_total",
    "AP_PRU": "ap_pru_total",
    "FE": "fe_total",
    "EDUCATED_ELSEWHERE": "ed_elsewhere",
    "EARLY_YEARS": "nm_early_years",
    "NOT_RECORDED": "placement_unknown",
}


def census_date(year: int) -> dt.date:
    """SEN2 reference date: the third Thursday of January."""
    first = dt.date(year, 1, 1)
    return first + dt.timedelta(days=(3 - first.weekday()) % 7 + 14)


# --------------------------------------------------------------------------------------------------
# Building the shipped table from the DfE files


def _read(reference: Path, name: str, topic: str) -> pd.DataFrame:
    frame = pd.read_csv(reference / f"{name}.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    frame = frame.loc[:, ~frame.columns.duplicated()]  # annual_reviews repeats a column
    frame = frame[frame["breakdown_topic"] == topic]
    frame = frame[frame["geographic_level"].isin(["Local authority", "National"])].copy()
    frame["area_code"] = frame["new_la_code"].where(frame["geographic_level"] == "Local authority", ENGLAND)
    return frame


def _wide(frame: pd.DataFrame, column: str, prefix: str, period=lambda p: int(p[:4])) -> pd.DataFrame:
    values = pd.to_numeric(frame[column].replace({"x": None, "z": None}), errors="coerce")
    out = pd.DataFrame({"area_code": frame["area_code"], "year": frame["time_period"].map(period), "v": values})
    out = out.pivot_table(index="area_code", columns="year", values="v", aggfunc="first")
    out.columns = [f"{prefix}_{c}" for c in out.columns]
    return out


def build_targets(reference: Path) -> pd.DataFrame:
    caseload = _read(reference, "caseload", "All EHC plans")
    latest = caseload[caseload["time_period"] == caseload["time_period"].max()]
    names = latest.set_index("area_code")[["old_la_code", "la_name", "region_code", "region_name"]]
    names.loc[ENGLAND] = ["", "England", "", ""]
    # 201819 is the January 2019 census.
    parts = [names, _wide(caseload, "ehcplans", "plans", period=lambda p: int(p[:4]) + 1)]
    for group, column in _SETTING_COLUMNS.items():
        parts.append(_wide(latest, column, f"setting_{group.lower()}", period=lambda p: "2025"))
    needs = _read(reference, "sen_needs_all_plans", "All EHC plans")
    for code in [*NEED_CODES, "NEED_UNKNOWN"]:
        parts.append(_wide(needs, f"number_{code.lower()}", f"need_{code.lower()}", period=lambda p: "2025"))
    requests = _read(reference, "requests", "All requests for EHC needs assessments")
    for column, prefix in [
        ("requests_received_in_year", "requests"),
        ("requests_decided_to_assess", "req_assess"),
        ("requests_decided_not_to_assess", "req_not_assess"),
        ("requests_decision_not_made", "req_not_made"),
        ("requests_withdrawn", "req_withdrawn"),
        ("request_outcome_six_weeks", "req_6wk"),
        ("request_outcome_over_6_weeks", "req_over_6wk"),
    ]:
        parts.append(_wide(requests, column, prefix))
    timeliness = _read(reference, "timeliness_20_week", "All EHC plans issued")
    for column, prefix in [
        ("plans_issued_den", "issued"),
        ("plans_issued_den_ex", "issued_ex"),
        ("plans_issued_within_20_weeks", "within20"),
        ("plans_issued_gt_1_year", "gt1yr"),
    ]:
        parts.append(_wide(timeliness, column, prefix))
    assessments = _read(reference, "assessments", "All EHC needs assessments")
    for column, prefix in [("assess_issued", "assess_issued"), ("assess_not_issued", "assess_not_issued")]:
        parts.append(_wide(assessments, column, prefix))
    reviews = _read(reference, "annual_reviews", "All annual reviews")
    for column, prefix in [
        ("review_expected", "ar_expected"),
        ("total_review_meeting", "ar_meetings"),
        ("outcome_amend", "ar_amend"),
        ("outcome_cease", "ar_cease"),
        ("outcome_maintan", "ar_maintain"),
        ("number_decsion_4weeks", "ar_4wk"),
        ("number_decision_gt_4weeks", "ar_gt4wk"),
    ]:
        parts.append(_wide(reviews, column, prefix))
    table = pd.concat(parts, axis=1, join="outer").loc[names.index]
    table.index.name = "area_code"
    return table.reset_index()


# --------------------------------------------------------------------------------------------------
# Using it


@cache
def load_targets() -> pd.DataFrame:
    table = pd.read_csv(TARGETS_PATH, dtype={"old_la_code": str, "area_code": str}, keep_default_na=False)
    return table.replace("", np.nan).set_index("area_code")


def all_la_codes() -> list[str]:
    return [code for code in load_targets().index if code != ENGLAND]


def old_la_codes() -> list[str]:
    """Every LA's three-digit code, in the table's order."""
    return [c for c in load_targets()["old_la_code"].dropna().astype(str).tolist() if c]


def by_year(table: dict[int, float], year: int) -> float:
    """The value for the latest year listed at or before `year` (the first one before the table starts)."""
    earlier = [k for k in table if k <= year]
    return table[max(earlier)] if earlier else table[min(table)]


def _series(row: pd.Series, prefix: str) -> dict[int, float]:
    out = {}
    for key, value in row.items():
        if key.startswith(prefix + "_") and key[len(prefix) + 1 :].isdigit() and pd.notna(value):
            out[int(key[len(prefix) + 1 :])] = float(value)
    return out


def _extend(known: dict[int, float], years: range, fallback_growth: dict[int, float], cap: float) -> dict[int, float]:
    """Fill years outside the published range: backwards with England's growth, forwards with the
    LA's latest growth damped towards zero (capped at `cap` a year)."""
    out = dict(known)
    if not out:
        return out
    for year in sorted(years, reverse=True):  # backwards
        if year not in out and year + 1 in out:
            out[year] = out[year + 1] / fallback_growth.get(year + 1, 1.05)
    last = max(known)
    growth = known[last] / known[last - 1] if last - 1 in known and known[last - 1] > 0 else 1.05
    growth = min(max(growth, 0.97), 1 + cap)
    for year in sorted(years):
        if year not in out and year - 1 in out:
            growth = 1 + (growth - 1) * 0.8
            out[year] = out[year - 1] * growth
    return out


@dataclass(frozen=True)
class LaTargets:
    """Yearly targets for one LA, scaled by `size` (1.0 = the published volumes)."""

    area_code: str
    old_la_code: str
    name: str
    size: float
    plans: dict[int, float]  # January census
    requests: dict[int, float]
    issued: dict[int, float]
    on_time: dict[int, float]  # share of plans issued within 20 weeks, by year of issue
    decision_shares: dict[int, dict[str, float]]  # Y / N / W among decided requests, by year received
    cease_rate: float  # plans ceasing a year as a share of the caseload (after the published years)
    decided_in_6_weeks: float
    exception_share: float
    not_issued_share: float
    need_shares: dict[str, float]
    setting_shares: dict[str, float]
    review_held: float
    review_outcomes: dict[str, float]  # A / C / M
    review_decision_4wk: float

    @classmethod
    def for_area(cls, area_code: str, size: float = 1.0, last_year: int = 2030) -> LaTargets:
        table = load_targets()
        row, eng = table.loc[area_code], table.loc[ENGLAND]
        years = range(2010, last_year + 2)
        eng_plans = _series(eng, "plans")
        eng_growth = {y: eng_plans[y] / eng_plans[y - 1] for y in eng_plans if y - 1 in eng_plans}
        eng_requests = _series(eng, "requests")
        eng_req_growth = {y: eng_requests[y] / eng_requests[y - 1] for y in eng_requests if y - 1 in eng_requests}
        eng_issued = _series(eng, "issued")
        eng_iss_growth = {y: eng_issued[y] / eng_issued[y - 1] for y in eng_issued if y - 1 in eng_issued}
        plans = _extend(_series(row, "plans"), years, eng_growth, cap=0.10)
        requests = _extend(_series(row, "requests"), years, eng_req_growth, cap=0.08)
        issued = _extend(_series(row, "issued"), years, eng_iss_growth, cap=0.15)
        within = _series(row, "within20")
        on_time = {y: within[y] / issued[y] for y in within if issued.get(y)}
        on_time = _on_time_path(on_time, years)

        def pick(prefix: str, years_wanted=(2024, 2023)) -> float | None:
            for year in years_wanted:
                value = row.get(f"{prefix}_{year}")
                if pd.notna(value):
                    return float(value)
            return None

        def rate(num: str, den: list[str]) -> float:
            for source in (row, eng):
                n = source.get(num)
                d = sum(float(source.get(x)) for x in den if pd.notna(source.get(x)))
                if pd.notna(n) and d > 0:
                    return float(n) / d
            return 0.0

        decision_shares = {}
        not_assessed = _series(row, "req_not_assess")
        for year in range(2019, 2023):  # before person-level data only refusals are published
            if year in not_assessed and requests.get(year):
                refused = min(not_assessed[year] / requests[year], 0.6)
                decision_shares[year] = {"Y": 0.995 - refused, "N": refused, "W": 0.005}
        for year in (2023, 2024):
            decided = {}
            for code, prefix in (("Y", "req_assess"), ("N", "req_not_assess"), ("W", "req_withdrawn")):
                value = pick(prefix, (year, 2024, 2023))
                decided[code] = value if value is not None else float(eng[f"{prefix}_{year}"])
            total = sum(decided.values()) or 1.0
            decision_shares[year] = {k: v / total for k, v in decided.items()}
        needs = _shares(row, eng, [f"need_{c.lower()}_2025" for c in NEED_CODES], NEED_CODES)
        settings = _shares(row, eng, [f"setting_{g.lower()}_2025" for g in SETTING_GROUPS], SETTING_GROUPS)
        outcomes = {k: rate(f"ar_{name}_2024", ["ar_amend_2024", "ar_cease_2024", "ar_maintain_2024"])
                    for k, name in (("A", "amend"), ("C", "cease"), ("M", "maintain"))}  # fmt: skip
        # Ceased a year = caseload + issued + moved in (about 1.5%) - next caseload, over the last years.
        ceased = [
            (plans[y] * 1.015 + issued[y] - plans[y + 1]) / plans[y]
            for y in (2022, 2023, 2024)
            if plans.get(y) and issued.get(y) and plans.get(y + 1)
        ]
        cease_rate = float(np.clip(np.mean(ceased) if ceased else 0.06, 0.05, 0.10))
        return cls(
            area_code=area_code,
            old_la_code=str(row["old_la_code"]),
            name=str(row["la_name"]),
            size=size,
            plans=plans,
            requests=requests,
            issued=issued,
            on_time=on_time,
            decision_shares=decision_shares,
            cease_rate=cease_rate,
            decided_in_6_weeks=rate("req_6wk_2024", ["req_6wk_2024", "req_over_6wk_2024"]) or 0.85,
            exception_share=max(0.0, 1 - rate("issued_ex_2024", ["issued_2024"])),
            not_issued_share=rate("assess_not_issued_2024", ["assess_issued_2024", "assess_not_issued_2024"]),
            need_shares=needs,
            setting_shares=settings,
            review_held=min(0.98, rate("ar_meetings_2024", ["ar_expected_2024"]) or 0.85),
            review_outcomes=outcomes,
            review_decision_4wk=rate("ar_4wk_2024", ["ar_4wk_2024", "ar_gt4wk_2024"]) or 0.45,
        )

    def scaled(self, series: dict[int, float], year: int) -> float:
        return series.get(year, 0.0) * self.size

    def decisions(self, year: int) -> dict[str, float]:
        """Shares of Y / N / W decisions for requests received in `year`."""
        if year in self.decision_shares:
            return self.decision_shares[year]
        return self.decision_shares[2023 if year < 2023 else 2024]


def _shares(row: pd.Series, eng: pd.Series, columns: list[str], codes: list[str]) -> dict[str, float]:
    """Shares of a published breakdown; England's where the LA's are not available."""
    values = pd.to_numeric(row[columns], errors="coerce").fillna(0.0)
    if values.sum() == 0:
        values = pd.to_numeric(eng[columns], errors="coerce").fillna(0.0)
    return dict(zip(codes, (values / values.sum()).tolist(), strict=True))


def _on_time_path(known: dict[int, float], years: range) -> dict[int, float]:
    """Published shares; before and between them the nearest, after them a recovery a third of the way to
    60% a year."""
    if not known:
        known = {2024: 0.46}
    out = dict(known)
    last = max(known)
    for year in range(years.start, last):
        if year not in out:  # before the first published year, or a gap (`x`): the nearest earlier one
            out[year] = by_year(known, year)
    value = known[last]
    for year in range(last + 1, years.stop):
        value += (0.60 - value) / 3
        out[year] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m synthetic.calibration", description=__doc__)
    parser.add_argument("reference", type=Path, help="folder holding the DfE EHC plans CSV files")
    args = parser.parse_args()
    table = build_targets(args.reference)
    TARGETS_PATH.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(TARGETS_PATH, index=False, float_format="%.10g")
    print(f"wrote {TARGETS_PATH} ({len(table)} rows)")


if __name__ == "__main__":
    main()
