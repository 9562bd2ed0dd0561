"""Data problems real extracts carry, added to a clean synthetic world at a chosen rate.

Kinds (each a share of the rate): duplicate rows, invalid identifiers (NHS number, UPN, ULN),
dates out of order, future or placeholder dates, missing mandatory fields, unknown codes, untidy
text (trailing spaces, mixed case), rows deleted in the source. Half the value errors are corrected
later (a late-arriving correction with a newer change timestamp); a fifth of those corrections are
silent, keeping the old timestamp, so only a full reconciliation sees them.

Problems are drawn once from the world (the full history), never from a snapshot, so two snapshots
of the same world show the same problems, fixed or not depending on the date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthetic import people
from synthetic.timeline import TableSpec

D = np.timedelta64(1, "D")
NaT = np.datetime64("NaT", "D")

KIND_WEIGHTS = {
    "duplicate": 0.12,
    "invalid_identifier": 0.12,
    "dates_out_of_order": 0.12,
    "future_date": 0.08,
    "missing_mandatory": 0.10,
    "unknown_code": 0.10,
    "untidy_text": 0.16,
    "deleted": 0.10,
}
FIXED_LATER = 0.5  # share of value errors corrected later
SILENT_FIX = 0.2  # share of corrections that keep the old change timestamp

IDENTIFIERS = {
    "ssd_person": {"pers_common_child_id": "nhs_number"},
    "ssd_send": {"send_upn": "upn", "send_uln": "uln"},
}
MANDATORY = {
    "ssd_ehcp_requests": ["ehcr_ehcp_req_date", "ehcr_ehcp_req_outcome", "ehcr_send_table_id"],
    "ssd_ehcp_assessment": ["ehca_ehcp_assessment_outcome"],
    "send_assessment_exceptions": ["asex_reason"],
    "send_ehcp_advice": ["ehad_advice_type", "ehad_requested_date"],
    "send_ep_allocations": ["epal_allocated_date"],
    "ssd_ehcp_named_plan": ["ehcn_named_plan_start_date"],
    "ssd_sen_need": ["senn_active_ehcp_need_type"],
    "send_placements": ["plac_setting_group", "plac_entry_date"],
    "send_annual_reviews": ["anre_meeting_date"],
    "send_ehcp_audits": ["ehqa_grade", "ehqa_audit_date"],
    "send_post16_activity": ["p16a_status", "p16a_activity_date"],
}
UNKNOWN_CODES = {
    ("ssd_person", "pers_sex"): ["X", "Male", "9"],
    ("ssd_ehcp_requests", "ehcr_ehcp_req_outcome"): ["Z", "YES", "Assess", "P"],
    ("ssd_ehcp_assessment", "ehca_ehcp_assessment_outcome"): ["Z", "I", "Issued"],
    ("ssd_ehcp_assessment", "ehca_ehcp_assessment_exceptions"): ["Y", "2"],
    ("send_assessment_exceptions", "asex_reason"): ["ILLNESS", "OTHER"],
    ("send_ehcp_advice", "ehad_advice_type"): ["PSYCH", "SALT", "EDUCATION"],
    ("send_ep_allocations", "epal_employment_type"): ["AGENCY", "TRAINEE"],
    ("ssd_ehcp_named_plan", "ehcn_named_plan_ceased_reason"): ["10", "0", "R"],
    ("ssd_sen_need", "senn_active_ehcp_need_type"): ["AUT", "ASC", "ADHD", "SPLD/MLD"],
    ("ssd_sen_need", "senn_active_ehcp_need_rank"): ["3", "P"],
    ("send_placements", "plac_setting_group"): ["SCHOOL", "INDEPENDENT"],
    ("send_annual_reviews", "anre_outcome"): ["X", "Maintain", "N"],
    ("send_ehcp_audits", "ehqa_grade"): ["GOOD+", "SATISFACTORY", "RI"],
    ("send_post16_activity", "p16a_status"): ["UNKNOWN", "EDUCATION"],
}
UNTIDY = {
    "ssd_person": ["pers_sex", "pers_postcode"],
    "ssd_ehcp_requests": ["ehcr_ehcp_req_outcome"],
    "ssd_ehcp_assessment": ["ehca_ehcp_assessment_outcome"],
    "send_ehcp_advice": ["ehad_advice_type"],
    "ssd_sen_need": ["senn_active_ehcp_need_type"],
    "send_placements": ["plac_setting_group"],
    "send_annual_reviews": ["anre_outcome"],
    "send_ehcp_audits": ["ehqa_grade", "ehqa_audit_type"],
    "send_post16_activity": ["p16a_status", "p16a_activity"],
}
OUT_OF_ORDER = {  # (field made earlier than its anchor, anchor field)
    "ssd_ehcp_requests": ("ehcr_ehcp_req_outcome_date", "ehcr_ehcp_req_date"),
    "ssd_ehcp_named_plan": ("ehcn_named_plan_ceased_date", "ehcn_named_plan_start_date"),
    "send_ehcp_advice": ("ehad_received_date", "ehad_requested_date"),
    "send_placements": ("plac_leaving_date", "plac_entry_date"),
    "send_annual_reviews": ("anre_decision_date", "anre_meeting_date"),
    "send_ehcp_audits": ("ehqa_closing_loop_date", "ehqa_audit_date"),
}
FUTURE = {  # field -> how the wrong value is made
    "ssd_person": ("pers_dob", "typo_decade"),
    "ssd_ehcp_requests": ("ehcr_ehcp_req_date", "typo_decade"),
    "ssd_ehcp_named_plan": ("ehcn_named_plan_ceased_date", "end_of_time"),
    "send_placements": ("plac_leaving_date", "end_of_time"),
    "send_annual_reviews": ("anre_meeting_date", "typo_decade"),
    "send_ehcp_audits": ("ehqa_audit_date", "typo_decade"),
    "send_post16_activity": ("p16a_activity_date", "typo_decade"),
}
DUPLICATED = ["ssd_person", "ssd_ehcp_requests", "send_annual_reviews", "send_post16_activity", "send_ehcp_advice"]
DELETABLE = [
    "ssd_ehcp_requests",
    "send_ehcp_advice",
    "send_ep_allocations",
    "ssd_sen_need",
    "send_placements",
    "send_annual_reviews",
    "send_ehcp_audits",
    "send_post16_activity",
]


def _pick(rng: np.random.Generator, n_rows: int, share: float) -> np.ndarray:
    k = int(rng.binomial(n_rows, min(share, 1.0))) if n_rows else 0
    return rng.choice(n_rows, k, replace=False) if k else np.array([], dtype=np.int64)


def referenced_keys(world: dict[str, pd.DataFrame], foreign_keys: dict[str, dict[str, str]]) -> dict[str, set]:
    """Keys of each table that rows of another table point to."""
    out: dict[str, set] = {}
    for name, links in foreign_keys.items():
        for column, target in links.items():
            parent = target.split(".")[0]
            out.setdefault(parent, set()).update(world[name][column].dropna().tolist())
    return out


def add_structural(
    world: dict[str, pd.DataFrame],
    keys: dict[str, str],
    rate: float,
    rng: np.random.Generator,
    horizon: dt.date,
    protected: dict[str, set] | None = None,
) -> dict[str, pd.DataFrame]:
    """Duplicate rows (a second record of the same thing, sometimes merged away later) and rows
    deleted in the source some time after they were made (sparing `protected` keys, if given)."""
    out = dict(world)
    end = np.datetime64(horizon, "D")
    for name in DUPLICATED:
        frame = out[name]
        chosen = _pick(rng, len(frame), rate * KIND_WEIGHTS["duplicate"])
        if not len(chosen):
            continue
        copies = frame.iloc[chosen].copy()
        key = keys[name]
        prefix = str(frame[key].iloc[0]).rstrip("0123456789") if len(frame) else "X"
        copies[key] = [f"{prefix}{8_000_000 + i}" for i in range(len(copies))]
        created = copies["_created"].to_numpy("datetime64[D]") + rng.integers(0, 30, len(copies)) * D
        copies["_created"] = created
        merged = rng.random(len(copies)) < 0.5
        copies["_deleted"] = np.where(merged, created + rng.integers(7, 240, len(copies)) * D, NaT)
        copies["_minute"] = rng.integers(0, 600, len(copies))
        out[name] = pd.concat([frame, copies], ignore_index=True)
        if name == "ssd_person":  # the duplicate person gets its own SEND record
            send = out["ssd_send"]
            twin = send.set_index("send_person_id").loc[frame.iloc[chosen]["pers_person_id"]].reset_index()
            twin["send_person_id"] = copies["pers_person_id"].to_numpy()
            twin["send_table_id"] = [f"S{8_000_000 + i}" for i in range(len(twin))]
            twin["_created"], twin["_deleted"] = copies["_created"].to_numpy(), copies["_deleted"].to_numpy()
            out["ssd_send"] = pd.concat([send, twin[send.columns]], ignore_index=True)
    for name in DELETABLE:
        frame = out[name].copy()
        chosen = _pick(rng, len(frame), rate * KIND_WEIGHTS["deleted"])
        if protected is not None and name in protected:
            chosen = chosen[~frame[keys[name]].isin(protected[name]).to_numpy()[chosen]]
        created = frame["_created"].to_numpy("datetime64[D]")[chosen]
        when = created + rng.integers(1, 400, len(chosen)) * D
        deleted = frame["_deleted"].to_numpy("datetime64[D]").copy()
        deleted[chosen] = np.where(when <= end, when, deleted[chosen])
        frame["_deleted"] = deleted
        out[name] = frame
    return out


@dataclass(frozen=True)
class ErrorPlaces:
    """Which columns of which tables each kind of value error can hit."""

    identifiers: dict[str, dict[str, str]]
    mandatory: dict[str, list[str]]
    unknown_codes: dict[tuple[str, str], list[str]]
    untidy: dict[str, list[str]]
    out_of_order: dict[str, tuple[str, str]]
    future: dict[str, tuple[str, str]]


LA_PLACES = ErrorPlaces(IDENTIFIERS, MANDATORY, UNKNOWN_CODES, UNTIDY, OUT_OF_ORDER, FUTURE)


def draw_errors(
    world: dict[str, pd.DataFrame],
    keys: dict[str, str],
    specs: dict[str, TableSpec],
    rate: float,
    rng: np.random.Generator,
    places: ErrorPlaces = LA_PLACES,
    protected: dict[str, set] | None = None,
) -> dict[str, pd.DataFrame]:
    """Value errors per table (key, field, wrong value, start, fix date or NaT, silent fix), each
    showing from when the row or field appears until it is corrected, if ever."""
    rows: dict[str, list[pd.DataFrame]] = {name: [] for name in world}

    def add(name: str, index: np.ndarray, field: str, wrong: list | np.ndarray) -> None:
        frame = world[name]
        if not len(index):
            return
        created = frame["_created"].to_numpy("datetime64[D]")[index]
        reveal = next((r.at for r in specs[name].reveals if r.column == field), None)
        start = created
        if reveal is not None:
            start = np.maximum(created, frame[reveal].to_numpy("datetime64[D]")[index])
        fixed = rng.random(len(index)) < FIXED_LATER
        fix = np.where(fixed, start + (14 + rng.gamma(1.5, 60.0, len(index)).astype(int)) * D, NaT)
        rows[name].append(
            pd.DataFrame(
                {
                    "key": frame[keys[name]].to_numpy()[index],
                    "field": field,
                    "wrong": pd.Series(list(wrong), dtype=object),
                    "start": start,
                    "fix": fix,
                    "silent": rng.random(len(index)) < SILENT_FIX,
                }
            )
        )

    def eligible(name: str, field: str) -> np.ndarray:
        values = world[name][field]
        return np.flatnonzero(values.notna().to_numpy())

    for name, fields in places.identifiers.items():
        for field, kind in fields.items():
            idx = eligible(name, field)
            idx = idx[_pick(rng, len(idx), rate * KIND_WEIGHTS["invalid_identifier"])]
            values = world[name][field].to_numpy()[idx]
            if kind == "nhs_number":
                wrong = [people.bad_nhs_number(rng, v) for v in values]
            elif kind == "upn":
                wrong = [people.bad_upn(rng, v) for v in values]
            else:
                wrong = [v[:-1] for v in values]  # nine digits
            add(name, idx, field, wrong)

    def unprotected(name: str, idx: np.ndarray) -> np.ndarray:
        """Rows whose rejection would orphan others are spared when references must hold."""
        if protected is None or name not in protected:
            return idx
        return idx[~world[name][keys[name]].isin(protected[name]).to_numpy()[idx]]

    for name, fields in places.mandatory.items():
        for field in fields:
            idx = _pick(rng, len(world[name]), rate * KIND_WEIGHTS["missing_mandatory"] / len(fields))
            idx = unprotected(name, idx)
            add(name, idx, field, [None] * len(idx))
    for (name, field), codes in places.unknown_codes.items():
        idx = eligible(name, field)
        idx = unprotected(name, idx[_pick(rng, len(idx), rate * KIND_WEIGHTS["unknown_code"])])
        add(name, idx, field, rng.choice(codes, len(idx)))
    for name, fields in places.untidy.items():
        for field in fields:
            idx = eligible(name, field)
            idx = idx[_pick(rng, len(idx), rate * KIND_WEIGHTS["untidy_text"] / len(fields))]
            values = world[name][field].astype(str).to_numpy()[idx]
            style = rng.integers(0, 3, len(idx))
            wrong = [
                v.lower() if s == 0 else (v + "  " if s == 1 else " " + v.title() + " ")
                for v, s in zip(values, style, strict=True)
            ]
            add(name, idx, field, wrong)
    for name, (field, anchor) in places.out_of_order.items():
        idx = eligible(name, field)
        idx = idx[_pick(rng, len(idx), rate * KIND_WEIGHTS["dates_out_of_order"])]
        base = world[name][anchor].to_numpy("datetime64[D]")[idx]
        add(name, idx, field, base - rng.integers(1, 60, len(idx)) * D)
    for name, (field, how) in places.future.items():
        idx = eligible(name, field) if how == "typo_decade" else np.arange(len(world[name]))
        idx = idx[_pick(rng, len(idx), rate * KIND_WEIGHTS["future_date"])]
        if how == "typo_decade":
            base = world[name][field].to_numpy("datetime64[D]")[idx]
            wrong = base + 3652 * D  # 2024 keyed as 2034
        else:
            wrong = np.full(len(idx), np.datetime64("2099-12-31", "D"))
        add(name, idx, field, wrong)
    return {name: pd.concat(parts, ignore_index=True) for name, parts in rows.items() if parts}


def apply_errors(snap: pd.DataFrame, errors: pd.DataFrame | None, key: str, as_of: dt.date) -> pd.DataFrame:
    """Overlay the errors visible on `as_of`; a correction made by then bumps the change date
    (unless silent)."""
    if errors is None or not len(errors) or not len(snap):
        return snap
    cut = np.datetime64(as_of, "D")
    start = errors["start"].to_numpy("datetime64[D]")
    fix = errors["fix"].to_numpy("datetime64[D]")
    showing = errors[(start <= cut) & ~(fix <= cut)]
    corrected = errors[(fix <= cut) & ~errors["silent"].to_numpy()]
    snap = snap.copy()
    position = pd.Series(np.arange(len(snap)), index=snap[key].to_numpy())
    position = position[~position.index.duplicated()]
    for field, group in showing.groupby("field", sort=True):
        where = position.reindex(group["key"].to_numpy()).dropna().astype(int)
        if not len(where):
            continue
        wrong = group.set_index("key")["wrong"]
        wrong = wrong[~wrong.index.duplicated(keep="last")].reindex(where.index)
        column = snap[field].astype(object).to_numpy().copy()
        column[where.to_numpy()] = wrong.to_numpy()
        snap[field] = _retype(column, snap[field])
    if len(corrected):
        fixes = corrected.groupby("key")["fix"].max()
        where = position.reindex(fixes.index).dropna().astype(int)
        changed = snap["_changed"].to_numpy("datetime64[D]").copy()
        when = fixes.reindex(where.index).to_numpy("datetime64[D]")
        changed[where.to_numpy()] = np.maximum(changed[where.to_numpy()], when)
        snap["_changed"] = changed
    return snap


def _retype(values: np.ndarray, like: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(like):
        return pd.Series(pd.to_datetime(pd.Series(values), errors="coerce").to_numpy(), index=like.index)
    return pd.Series(values, index=like.index, dtype=object)
