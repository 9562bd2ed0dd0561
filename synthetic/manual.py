"""Synthetic manual returns: KPI scorecards (xlsx and CSV), the PAP milestone tracker, the risk
register and survey results, as the partnership's staff fill them in, mistakes included.

Scorecards carry the catalogue's KPIs that may be reported manually (dbt seed
kpi_definitions.csv, manual_allowed = true); where the synthetic LA data can compute a KPI the
scorecard figure is that value give or take a recount, so reconciliation has something to show.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synthetic import xlsx

KPI_SEED = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "kpi_definitions.csv"
SCORECARD_COLUMNS = [
    "kpi_code",
    "area_code",
    "period",
    "numerator",
    "denominator",
    "value",
    "submitted_by",
    "submitted_on",
    "evidence_note",
]
MILESTONE_COLUMNS = [
    "milestone_id",
    "priority_area",
    "action",
    "milestone",
    "owner",
    "due_date",
    "rag_status",
    "completed_date",
    "last_updated",
    "commentary",
]
RISK_COLUMNS = [
    "risk_id",
    "title",
    "priority_area",
    "owner",
    "likelihood",
    "impact",
    "current_score",
    "target_score",
    "target_date",
    "status",
    "last_reviewed",
]
SURVEY_COLUMNS = [
    "wave",
    "area_code",
    "respondent_group",
    "question_code",
    "question_text",
    "responses",
    "positive_responses",
    "percent_positive",
]
HEADER_ROW = {"scorecard": 4, "milestones": 3, "risks": 3}
SUBMITTERS = ["SEND Performance Team", "SEND Service Manager", "ICB SEND Data Lead", "Designated Clinical Officer"]
OWNERS = [
    "Director of Education",
    "Head of SEND",
    "ICB Director of Nursing",
    "Designated Clinical Officer",
    "Principal Educational Psychologist",
    "Head of Inclusion",
    "Parent Carer Forum Chair",
    "Head of Performance and Intelligence",
    "Assistant Director Children's Social Care",
]
PRIORITIES = {  # priority area -> (milestone count, action themes)
    "PRIORITY_I": (20, ["Governance and accountability", "Data and intelligence", "Joint commissioning", "Workforce"]),
    "PRIORITY_II": (35, ["EHC needs assessment timeliness", "Quality of EHC plans", "Annual reviews",
                         "Educational psychology capacity", "Phase transfers", "Health advice"]),
    "PRIORITY_III": (20, ["Neurodevelopmental pathway redesign", "Support while waiting", "Waiting list validation",
                          "Provider capacity"]),
    "PFA": (12, ["Preparing for adulthood reviews", "Post-16 pathways", "Transition to adult services"]),
    "COMMUNICATION": (8, ["Local offer", "Co-production with families", "Communication with families"]),
}  # fmt: skip
RISKS = [
    "EHC needs assessment backlog grows",
    "Educational psychology vacancies not filled",
    "Health advice returned late",
    "Neurodevelopmental waiting lists keep growing",
    "High needs budget overspend",
    "Special school places insufficient",
    "Data sharing agreement with NHS providers not signed",
    "Case management system migration delayed",
    "Annual reviews not held on time",
    "Phase transfer deadlines missed",
    "Quality of plans does not improve",
    "Families lose confidence in the local area",
    "Post-16 provision gaps for complex needs",
    "Tribunal appeals increase",
    "Workforce turnover in SEND casework team",
    "Alternative provision quality not assured",
    "Capacity of speech and language therapy",
    "Transport costs rise",
    "Inspection monitoring visit finds limited progress",
    "Short breaks sufficiency",
    "Preparation for adulthood outcomes unclear in plans",
    "Mental health support for children waiting",
    "Co-production with parent carer forum weakens",
    "Data quality in provider returns",
    "School inclusion and exclusions of pupils with SEND",
]
SURVEY_QUESTIONS = {
    "AWARE_OF_SERVICES": "I know what support and services are available in my area",
    "RECEIVING_SUPPORT": "My child / I receive the support needed",
    "FEEL_LISTENED_TO": "I feel listened to by professionals",
    "LOCAL_OFFER_USED": "I have used the Local Offer website in the last year",
    "EHCP_PROCESS_POSITIVE": "The EHC needs assessment process was a positive experience",
}


def manual_kpis(seed_path: Path = KPI_SEED) -> pd.DataFrame:
    """KPIs the catalogue lets a manual scorecard report."""
    if not seed_path.exists():
        return pd.DataFrame(columns=["kpi_code", "unit"])
    catalogue = pd.read_csv(seed_path)
    allowed = catalogue["manual_allowed"].astype(str).str.lower().isin(["true", "1", "yes"])
    return catalogue.loc[allowed, ["kpi_code", "unit"]].reset_index(drop=True)


def twenty_week_counts(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Plans issued per month and how many within 20 weeks (all / excluding exceptions)."""
    req = frames["ssd_ehcp_requests"][["ehcr_ehcp_request_id", "ehcr_ehcp_req_date"]]
    asmt = frames["ssd_ehcp_assessment"]
    asmt = asmt[asmt["ehca_ehcp_assessment_outcome"].astype(str).str.strip().str.upper() == "Y"]
    joined = asmt.merge(req, left_on="ehca_ehcp_request_id", right_on="ehcr_ehcp_request_id")
    issued = pd.to_datetime(joined["ehca_ehcp_assessment_outcome_date"], errors="coerce")
    days = (issued - pd.to_datetime(joined["ehcr_ehcp_req_date"], errors="coerce")).dt.days
    frame = pd.DataFrame(
        {
            "period": issued.dt.strftime("%Y-%m"),
            "on_time": days <= 140,
            "exception": joined["ehca_ehcp_assessment_exceptions"].astype(str) == "1",
        }
    ).dropna(subset=["period"])
    frame["on_time_excl"] = frame["on_time"] & ~frame["exception"]
    return frame.groupby("period").agg(
        issued=("on_time", "size"),
        on_time=("on_time", "sum"),
        issued_excl=("exception", lambda s: int((~s).sum())),
        on_time_excl=("on_time_excl", "sum"),
    )


CALCULATORS: dict[str, Callable[[pd.DataFrame, str], tuple[float, float] | None]] = {
    "EHCP_20WK_ALL": lambda t, p: (t.at[p, "on_time"], t.at[p, "issued"]) if p in t.index else None,
    "EHCP_20WK_EXCL": lambda t, p: (t.at[p, "on_time_excl"], t.at[p, "issued_excl"]) if p in t.index else None,
}


@dataclass
class ManualWriter:
    folder: Path
    seed: int
    rate: float

    def rng(self, *parts: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, 11, *parts]))

    # -- scorecards -------------------------------------------------------------------------

    def scorecards(self, area_code: str, area_name: str, months: list[dt.date], frames: dict | None) -> list[Path]:
        kpis = manual_kpis()
        counts = twenty_week_counts(frames) if frames else pd.DataFrame()
        paths = []
        for month_end in months:
            rng = self.rng(int(area_code[1:]), month_end.toordinal())
            period = f"{month_end:%Y-%m}"
            submitted = month_end + dt.timedelta(days=int(rng.integers(5, 16)))
            rows = []
            for code, unit in kpis.itertuples(index=False):
                figures = CALCULATORS[code](counts, period) if code in CALCULATORS and len(counts) else None
                if figures is None:
                    denominator = float(rng.integers(20, 400))
                    numerator = float(rng.binomial(int(denominator), rng.uniform(0.2, 0.9)))
                else:  # a recount on another day: close to the system's figure, not always equal
                    numerator, denominator = (float(x) for x in figures)
                    if rng.random() < 0.3:
                        numerator = max(0.0, numerator + float(rng.integers(-2, 3)))
                        numerator = min(numerator, denominator)
                numerator, denominator = int(numerator), int(denominator)
                value = round(100 * numerator / denominator, 1) if unit == "percent" and denominator else numerator
                if unit == "percent" and not denominator:
                    value = None
                if unit == "weeks":  # a mean or median wait over `denominator` cases, no numerator
                    numerator, value = None, round(float(rng.uniform(6, 40)), 1)
                rows.append(
                    [code, area_code, period, numerator, denominator, value, str(rng.choice(SUBMITTERS)), submitted,
                     "Counted from the case management system" if code in CALCULATORS else "Provider return"]
                )  # fmt: skip
            rows = self._scorecard_mistakes(rng, rows)
            stem = f"kpi_scorecard_{area_code}_{period}"
            title = [f"SEND KPI scorecard - {area_name} - {month_end:%B %Y}"]
            guide = ["Complete one row per KPI. Period as YYYY-MM. Do not change the column headings."]
            table = [title, guide, [], SCORECARD_COLUMNS, *rows]
            if rng.random() < 0.3:  # some months come in as CSV saved from the template
                path = self.folder / f"{stem}.csv"
                _write_csv(path, table, encoding="utf-8-sig")
            else:
                path = self.folder / f"{stem}.xlsx"
                guidance = [["kpi_code", "unit"], *kpis.values.tolist()]
                xlsx.write_workbook(
                    path, {"Scorecard": table, "Guidance": guidance}, {"Scorecard": {4}, "Guidance": {1}}
                )
            paths.append(path)
        return paths

    def _scorecard_mistakes(self, rng: np.random.Generator, rows: list[list]) -> list[list]:
        if not self.rate or not rows:
            return rows
        out = []
        for row in rows:
            row = list(row)
            if rng.random() < self.rate * 3:
                kind = rng.choice(["code", "period", "over", "submitter", "percent_text", "date_text", "spaces"])
                if kind == "code":
                    row[0] = row[0].replace("_", "", 1)
                elif kind == "period":
                    row[2] = dt.datetime.strptime(row[2], "%Y-%m").strftime(str(rng.choice(["%b-%y", "%Y/%m"])))
                elif kind == "over":
                    row[3] = (row[4] or 0) + int(rng.integers(1, 10))
                elif kind == "submitter":
                    row[6] = None
                elif kind == "percent_text" and row[5] is not None:
                    row[5] = f"{row[5]}%"
                elif kind == "date_text":
                    row[7] = row[7].strftime("%d/%m/%Y")
                else:
                    row[0] = f" {row[0].lower()} "
            out.append(row)
            if rng.random() < self.rate:
                out.append(list(row))  # pasted twice
        if rng.random() < self.rate * 5:
            out.append([])  # a blank line, then a total someone added
            out.append(["Total", None, None, sum(r[3] or 0 for r in rows), sum(r[4] or 0 for r in rows)])
        return out

    # -- PAP milestones -----------------------------------------------------------------------

    def milestones(self, months: list[dt.date], pap_start: dt.date) -> list[Path]:
        rng = self.rng(1)
        plan = []
        for area, (count, themes) in PRIORITIES.items():
            for k in range(count):
                action = k // 3 + 1
                due = pap_start + dt.timedelta(days=int(rng.integers(60, 1000)))
                slip = int(rng.gamma(1.5, 40)) if rng.random() < 0.45 else -int(rng.integers(0, 30))
                plan.append(
                    {
                        "milestone_id": f"{area.split('_')[-1][:4]}.{action:02d}.{k % 3 + 1}",
                        "priority_area": area,
                        "action": themes[(action - 1) % len(themes)],
                        "milestone": f"{themes[(action - 1) % len(themes)]}: step {k % 3 + 1} delivered",
                        "owner": str(rng.choice(OWNERS)),
                        "due_date": due,
                        "completed": due + dt.timedelta(days=slip) if rng.random() < 0.85 else None,
                        "at_risk": rng.random() < 0.3,
                    }
                )
        paths = []
        for month_end in months:
            rng_m = self.rng(2, month_end.toordinal())
            rows = []
            for m in plan:
                done = m["completed"] is not None and m["completed"] <= month_end
                if done:
                    rag, note = "BLUE", "Complete"
                elif m["due_date"] < month_end:
                    rag, note = "RED", "Overdue; revised date to be agreed at the board"
                elif m["at_risk"] and (m["due_date"] - month_end).days < 90:
                    rag, note = "AMBER", "At risk: dependency on partner capacity"
                else:
                    rag, note = "GREEN", "On track"
                row = [m["milestone_id"], m["priority_area"], m["action"], m["milestone"], m["owner"], m["due_date"],
                       rag, m["completed"] if done else None, month_end - dt.timedelta(days=int(rng_m.integers(0, 20))),
                       note]  # fmt: skip
                if self.rate and rng_m.random() < self.rate * 3:
                    kind = rng_m.choice(["rag", "owner", "due"])
                    if kind == "rag":
                        row[6] = str(rng_m.choice(["Green ", "amber", "Amber/Red", ""]))
                    elif kind == "owner":
                        row[4] = None
                    else:
                        row[5] = "TBC"
                rows.append(row)
            path = self.folder / f"pap_milestones_{month_end:%Y-%m}.xlsx"
            title = [f"Priority Action Plan - milestone tracker - {month_end:%B %Y}"]
            guide = ["RAG: BLUE complete, GREEN on track, AMBER at risk, RED off track"]
            xlsx.write_workbook(path, {"Milestones": [title, guide, MILESTONE_COLUMNS, *rows]}, {"Milestones": {3}})
            paths.append(path)
        return paths

    # -- risk register ------------------------------------------------------------------------

    def risks(self, months: list[dt.date], pap_start: dt.date) -> list[Path]:
        rng = self.rng(3)
        areas = list(PRIORITIES)
        register = []
        for k, title in enumerate(RISKS, 1):
            register.append(
                {
                    "risk_id": f"R{k:02d}",
                    "title": title,
                    "area": areas[k % len(areas)],
                    "owner": str(rng.choice(OWNERS)),
                    "likelihood": int(rng.integers(2, 6)),
                    "impact": int(rng.integers(3, 6)),
                    "target": int(rng.choice([4, 6, 8, 9])),
                    "target_date": pap_start + dt.timedelta(days=int(rng.integers(300, 1100))),
                    "closes": pap_start + dt.timedelta(days=int(rng.integers(400, 1500))),
                }
            )
        paths = []
        for month_end in months:
            rng_m = self.rng(4, month_end.toordinal())
            rows = []
            for r in register:
                if rng_m.random() < 0.15:  # reassessed this month
                    r["likelihood"] = int(
                        np.clip(r["likelihood"] + rng_m.choice([-1, 0, 1], p=[0.45, 0.3, 0.25]), 1, 5)
                    )
                closed = r["closes"] <= month_end
                score = r["likelihood"] * r["impact"]
                row = [r["risk_id"], r["title"], r["area"], r["owner"], r["likelihood"], r["impact"], score,
                       r["target"], r["target_date"], "CLOSED" if closed else "OPEN",
                       month_end - dt.timedelta(days=int(rng_m.integers(0, 40)))]  # fmt: skip
                if self.rate and rng_m.random() < self.rate * 3:
                    kind = rng_m.choice(["score", "owner", "range"])
                    if kind == "score":
                        row[6] = score + 1  # not likelihood x impact
                    elif kind == "owner":
                        row[3] = None
                    else:
                        row[6] = 30
                rows.append(row)
            path = self.folder / f"risk_register_{month_end:%Y-%m}.xlsx"
            title = [f"SEND partnership risk register - {month_end:%B %Y}"]
            guide = ["Scores are likelihood x impact (1-5 each); target score is the tolerated level"]
            xlsx.write_workbook(path, {"Risks": [title, guide, RISK_COLUMNS, *rows]}, {"Risks": {3}})
            paths.append(path)
        return paths

    # -- survey ---------------------------------------------------------------------------------

    def surveys(self, area_codes: list[str], first_year: int, as_of: dt.date) -> list[Path]:
        paths = []
        for year in range(first_year, as_of.year + 1):
            for season, month in (("SPRING", 4), ("AUTUMN", 10)):
                closes = dt.date(year, month, 28)
                if closes > as_of:
                    continue
                wave = f"{year}-{season}"
                rng = self.rng(5, year, month)
                rows = [SURVEY_COLUMNS]
                for area in area_codes:
                    for group, size in (("PARENT_CARER", (250, 900)), ("YOUNG_PERSON", (60, 250))):
                        for question, text in SURVEY_QUESTIONS.items():
                            responses = int(rng.integers(*size))
                            share = np.clip(0.35 + 0.04 * (year - 2022) + rng.normal(0, 0.04), 0.05, 0.95)
                            positive = int(rng.binomial(responses, share))
                            percent: object = round(100 * positive / responses, 1)
                            row = [wave, area, group, question, text, responses, positive, percent]
                            if self.rate and rng.random() < self.rate * 3:
                                kind = rng.choice(["percent_text", "over", "area"])
                                if kind == "percent_text":
                                    row[7] = f"{percent}%"
                                elif kind == "over":
                                    row[6] = responses + int(rng.integers(1, 20))
                                else:
                                    row[1] = None
                            rows.append(row)
                path = self.folder / f"survey_results_{wave}.csv"
                _write_csv(path, rows, encoding="utf-8-sig")
                paths.append(path)
        return paths


def _write_csv(path: Path, rows: list[list], encoding: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, lineterminator="\r\n")  # as Excel saves CSV
        for row in rows:
            writer.writerow(["" if v is None else (v.isoformat() if isinstance(v, dt.date) else v) for v in row])
