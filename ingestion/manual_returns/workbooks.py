"""Manual returns: KPI scorecards (xlsx or CSV saved from the template), the PAP milestone tracker,
the risk register and survey results, from a landing folder.

Every rejected row carries a message the submitter can act on, naming the workbook, sheet, row
and field, e.g. "kpi_scorecard_E10000017_2025-03.xlsx, sheet Scorecard, row 7, field numerator:
numerator 12 is above the denominator 10".
"""

from __future__ import annotations

import functools
import re
from functools import cache
from pathlib import Path

import pandas as pd

from ingestion import contract as contracts
from ingestion import files, privacy

FEED = "manual_returns"
KPI_CATALOGUE = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "kpi_definitions.csv"


@cache
def kpi_catalogue(path: Path = KPI_CATALOGUE) -> pd.DataFrame:
    """kpi_code -> unit and whether a manual scorecard may report it (the dbt seed)."""
    catalogue = pd.read_csv(path, dtype=str)
    catalogue["manual_allowed"] = catalogue["manual_allowed"].str.strip().str.lower().isin(["true", "1", "yes"])
    return catalogue.set_index("kpi_code")[["unit", "manual_allowed"]]


def _prepare(table_name: str, table: contracts.Table, frame: pd.DataFrame) -> pd.DataFrame:
    if table_name == "kpi_scorecard":  # a code: compared after trimming and upper-casing
        frame = frame.assign(kpi_code=frame["kpi_code"].astype("string").str.strip().str.upper())
    return frame


def _number(series: pd.Series) -> pd.Series:
    return series.map(contracts.number_text, na_action="ignore").fillna("no value").astype("string")


def _checks(table_name: str, table: contracts.Table, found: re.Match, rows: pd.DataFrame) -> list[files.Check]:
    checks: list[files.Check] = []
    if table_name == "kpi_scorecard":
        catalogue = kpi_catalogue()
        known = rows["kpi_code"].isin(catalogue.index)
        allowed = rows["kpi_code"].isin(catalogue.index[catalogue["manual_allowed"]])
        checks.append(
            files.Check(
                ~known,
                "kpi_code",
                "KPI code "
                + rows["kpi_code"].map(privacy.describe_code, na_action="ignore").astype("string")
                + " is not in the KPI catalogue (see the Guidance sheet)",
            )
        )
        checks.append(
            files.Check(
                known & ~allowed,
                "kpi_code",
                "KPI " + rows["kpi_code"] + " comes from an automated feed and may not be reported manually",
            )
        )
        checks.append(
            files.Check(
                rows["area_code"] != found["area"],
                "area_code",
                f"area code differs from the file name ({found['area']})",
            )
        )
        checks.append(
            files.Check(
                rows["period"].str.fullmatch(r"[0-9]{4}-[0-9]{2}") & (rows["period"] != found["period"]),
                "period",
                f"period differs from the file name ({found['period']})",
            )
        )
        over = rows["numerator"] > rows["denominator"]
        checks.append(
            files.Check(
                over,
                "numerator",
                "numerator " + _number(rows["numerator"]) + " is above the denominator " + _number(rows["denominator"]),
            )
        )
        percent = rows["kpi_code"].isin(catalogue.index[catalogue["unit"] == "percent"])
        out_of_range = percent & ((rows["value"] < 0) | (rows["value"] > 100))
        checks.append(
            files.Check(
                out_of_range, "value", "value " + _number(rows["value"]) + " is outside 0-100 for a percent KPI"
            )
        )
        expected = 100 * rows["numerator"] / rows["denominator"]
        mismatch = percent & ~over & rows["denominator"].gt(0) & ((rows["value"] - expected).abs() > 0.15)
        checks.append(
            files.Check(
                mismatch,
                "value",
                "value "
                + _number(rows["value"])
                + " is not 100 x numerator / denominator ("
                + _number(expected.round(1))
                + ")",
            )
        )
    elif table_name == "risk_register":
        product = rows["likelihood"] * rows["impact"]
        wrong = product.notna() & rows["current_score"].notna() & (rows["current_score"] != product)
        checks.append(
            files.Check(
                wrong,
                "current_score",
                "current_score "
                + _number(rows["current_score"])
                + " is not likelihood x impact ("
                + _number(product)
                + ")",
            )
        )
    elif table_name == "survey_results":
        over = rows["positive_responses"] > rows["responses"]
        checks.append(
            files.Check(
                over,
                "positive_responses",
                "positive_responses "
                + _number(rows["positive_responses"])
                + " is above responses "
                + _number(rows["responses"]),
            )
        )
    return checks


def message(file_name: str, sheet: str | None, row: int, field: str, reason: str) -> str:
    """Where the problem is and what is wrong, in the submitter's terms."""
    where = [file_name] + ([f"sheet {sheet}"] if sheet else []) + ([f"row {row}"] if row else [])
    if not field:  # the row as a whole (too many cells, blank rows)
        return f"{', '.join(where)}: {reason}"
    if reason == "missing mandatory field":
        reason = f"{field} is empty; it must be filled in"
    elif "%'" in reason and reason.startswith("not a valid number"):
        reason += "; enter the number without the % sign"
    return f"{', '.join(where)}, field {field}: {reason}"


RULES = files.FeedRules(feed=FEED, prepare=_prepare, checks=_checks, message=message)


# Land every new manual return of an inbox (files.intake), and the feed's entry point (feed.py) doing so for a
# ReadRequest.
intake = functools.partial(files.intake, RULES)
read = functools.partial(files.read, RULES)
