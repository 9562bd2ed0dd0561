"""Kept apart from the page code, so the failure classifier can import it without matplotlib or Jinja."""


class ScorecardBuildError(RuntimeError):
    """The scorecard could not be built; the marts it reads stay published (alert class `scorecard`)."""
