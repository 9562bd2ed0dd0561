"""SEN2 items the request and assessment modules carry besides their outcome: the child in relevant
youth accommodation when the request was made (RYA, item 2.3), mediation and tribunal appeals about
the decision whether to assess (2.6, 2.7), about the decision not to issue a plan (3.3, 3.4) and
about other appealable decisions, such as the content or the setting named in an issued plan (3.5,
3.6). Codes as SEN2 writes them: "1" yes, "0" no, blank where SEN2 asks for nothing (historical H
rows, and until the decision the item hangs on is made: the columns are revealed with the outcome).

Drawn after the rest of the world from their own random stream, so they change no other value of
any table for the same seed. Rates are England's in the DfE "Education, health and care plans" 2025
release (calendar year 2024, national `All ...` rows), per request or assessment of the outcome the
appeal is about, the way SEN2 ties each item to one outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# requests.csv, England 2024: 154,489 requests, 501 RYA, 38,889 refusals (N), 10,507 mediations,
# 4,655 tribunals, 1,473 tribunals after mediation.
RYA_SHARE = 501 / 154_489
REQUEST_MEDIATION = 10_507 / 38_889  # of refusals to assess
REQUEST_TRIBUNAL_AFTER_MEDIATION = 1_473 / 10_507
REQUEST_TRIBUNAL_ALONE = (4_655 - 1_473) / (38_889 - 10_507)
# assessments.csv, England 2024: 6,404 decisions not to issue (N), 2,124 mediations, 1,445 tribunals,
# 475 tribunals after mediation; 98,547 plans issued (Y), 1,862 mediations and 3,088 tribunals about
# other decisions (content, setting), 701 tribunals after mediation.
ASSESS_MEDIATION = 2_124 / 6_404  # of decisions not to issue
ASSESS_TRIBUNAL_AFTER_MEDIATION = 475 / 2_124
ASSESS_TRIBUNAL_ALONE = (1_445 - 475) / (6_404 - 2_124)
OTHER_MEDIATION = 1_862 / 98_547  # of plans issued
OTHER_TRIBUNAL_AFTER_MEDIATION = 701 / 1_862
OTHER_TRIBUNAL_ALONE = (3_088 - 701) / (98_547 - 1_862)


def _flags(rng: np.random.Generator, eligible: np.ndarray, mediation: float, after: float, alone: float):
    """Mediation and tribunal flags ("1" / "0") for rows whose outcome the appeal is about (`eligible`);
    a tribunal follows a mediation at rate `after`, comes without one at rate `alone`."""
    n = len(eligible)
    mediated = eligible & (rng.random(n) < mediation)
    draw = rng.random(n)
    tribunal = eligible & np.where(mediated, draw < after, draw < alone)
    return np.where(mediated, "1", "0"), np.where(tribunal, "1", "0")


def add_dispute_columns(rng: np.random.Generator, tables: dict[str, pd.DataFrame]) -> None:
    """Add the columns to the world's requests and assessments tables, in place (their row order)."""
    requests = tables["ssd_ehcp_requests"]
    outcome = requests["ehcr_ehcp_req_outcome"].to_numpy(dtype=object)
    new = outcome != "H"  # SEN2 asks nothing more of a historical request
    n = len(requests)
    rya = rng.random(n) < RYA_SHARE
    mediation, tribunal = _flags(
        rng, outcome == "N", REQUEST_MEDIATION, REQUEST_TRIBUNAL_AFTER_MEDIATION, REQUEST_TRIBUNAL_ALONE
    )
    requests["ehcr_ehcp_req_rya"] = np.where(new, np.where(rya, "1", "0"), None)
    requests["ehcr_ehcp_req_mediation"] = np.where(new, mediation, None)
    requests["ehcr_ehcp_req_tribunal"] = np.where(new, tribunal, None)

    assessments = tables["ssd_ehcp_assessment"]
    outcome = assessments["ehca_ehcp_assessment_outcome"].to_numpy(dtype=object)
    new = outcome != "H"
    mediation, tribunal = _flags(
        rng, outcome == "N", ASSESS_MEDIATION, ASSESS_TRIBUNAL_AFTER_MEDIATION, ASSESS_TRIBUNAL_ALONE
    )
    other_mediation, other_tribunal = _flags(
        rng, outcome == "Y", OTHER_MEDIATION, OTHER_TRIBUNAL_AFTER_MEDIATION, OTHER_TRIBUNAL_ALONE
    )
    assessments["ehca_ehcp_assessment_mediation"] = np.where(new, mediation, None)
    assessments["ehca_ehcp_assessment_tribunal"] = np.where(new, tribunal, None)
    assessments["ehca_ehcp_assessment_other_mediation"] = np.where(new, other_mediation, None)
    assessments["ehca_ehcp_assessment_other_tribunal"] = np.where(new, other_tribunal, None)
