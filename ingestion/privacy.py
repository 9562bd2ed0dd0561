"""What a reason, log line or alert may say about a value it did not expect.

Rejected rows, logs and alerts are read by people who may not see personal data (on-call staff,
submitters of other teams' files). A value that failed validation may be anything: an NHS number
pushed into the wrong column, a date of birth, a postcode, a name. So a reason never quotes it: it
shows the value's shape (`describe`), which tells a submitter what was written ("99/99/9999" where
YYYY-MM-DD was expected, "99%" where a number was) without telling anyone what it was. Text from
outside the platform (a driver's or library's exception message) goes through `redact` first.
"""

from __future__ import annotations

import re

# Short enough to be no identifier, date, postcode or full name: "ADD", "N/A", "x", "yes".
_VERBATIM_MAX = 4
_SHAPE_MAX = 24


def describe(value: object) -> str:
    """The value as a reason may quote it: short codes without digits as written, anything else as
    its shape (digits -> 9, letters -> A / a, other characters kept), cut to 24 characters."""
    text = "" if value is None else str(value)
    if len(text) <= _VERBATIM_MAX and not any(c.isdigit() for c in text) and text.isprintable():
        return f"'{text}'"
    shape = "".join(_shape_of(c) for c in text[:_SHAPE_MAX])
    more = f"... ({len(text)} characters)" if len(text) > _SHAPE_MAX else ""
    return f"written like '{shape}'{more}"


_CODE = re.compile(r"[A-Z][A-Z0-9]*([_/][A-Z0-9]+)+")


def describe_code(value: object) -> str:
    """A value meant as a code (KPI_CODE, NOT_DIAGNOSED, AMBER/RED) as written when it is shaped like
    one: capitals joined by underscores or slashes, no run of three digits; anything else (a name, a
    number) by `describe`."""
    text = "" if value is None else str(value)
    if len(text) <= 40 and _CODE.fullmatch(text) and not re.search(r"[0-9]{3}", text):
        return f"'{text}'"
    return describe(text)


def describe_name(name: str) -> str:
    """A file name nobody has checked (it matched no pattern) as it may be recorded: as written when
    it has no space and nothing that looks personal (`data-guidance.txt`), else its shape in full (an
    operator can still tell it from the inbox listing) with the extension as written."""
    if not any(c.isspace() for c in name) and name.isprintable() and not LOOKS_PERSONAL.search(name):
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not extension.isalnum() or len(extension) > 5:
        stem, dot, extension = name, "", ""
    return "".join(_shape_of(c) for c in stem) + dot + extension


def _shape_of(char: str) -> str:
    if char.isdigit():
        return "9"
    if char.isalpha():
        return "A" if char.isupper() else "a"
    if not char.isprintable():
        return "?"
    return char


# Text written by others (exception messages): anything that could be an identifier, a date or a
# postcode is withheld. Deliberately broad: a withheld error code costs less than a leaked NHS number.
_WITHHELD = re.compile(
    "|".join(
        [
            r"[A-Za-z]\d{11}[A-Za-z0-9]",  # UPN
            r"\b\d{3}[\s-]?\d{3}[\s-]?\d{4}\b",  # NHS number, spaced or not
            r"\d{7,}",  # any long digit run: ULN, person ids, phone numbers (not YYYYMM)
            r"\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b",  # dates (of birth)
            r"\b[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}\b",  # postcode
        ]
    )
)


def redact(text: object, limit: int = 300) -> str:
    """Foreign text safe for a log line, an alert or a reason: identifiers, dates and postcodes
    withheld, cut to `limit` characters."""
    cleaned = _WITHHELD.sub("[withheld]", "" if text is None else str(text))
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "..."


# -- identifiers where they do not belong ------------------------------------------------------

_NHS_CANDIDATE = re.compile(r"(?<!\d)(\d{3})[\s-]?(\d{3})[\s-]?(\d{4})(?!\d)")
_UPN_CANDIDATE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]\d{11}[A-Za-z0-9](?![A-Za-z0-9])")
_POSTCODE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}(?![A-Za-z0-9])")
LOOKS_PERSONAL = _WITHHELD  # a value matching it is never shown or kept as a record key as written


def identifier_in(text: str) -> str | None:
    """What kind of personal identifier a piece of free text carries, if any: an NHS number (check
    digit valid), a UPN (check letter valid) or a full postcode."""
    from ingestion import identifiers

    for match in _NHS_CANDIDATE.finditer(text):
        if identifiers.is_valid_nhs_number("".join(match.groups())):
            return "an NHS number"
    for match in _UPN_CANDIDATE.finditer(text):
        if identifiers.is_valid_upn(match.group().upper()):
            return "a UPN"
    if _POSTCODE.search(text):
        return "a postcode"
    return None
