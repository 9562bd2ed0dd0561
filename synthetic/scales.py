"""Scales the generator can produce, from a small demo to all 153 English LAs."""

from __future__ import annotations

from dataclasses import dataclass

from synthetic.calibration import all_la_codes, load_targets

LANCASHIRE = "E10000017"
# Lancashire and South Cumbria ICB footprint: the LAs whose children its providers serve.
LSC_ICB = ("E10000017", "E06000008", "E06000009", "E06000064")


@dataclass(frozen=True)
class Scale:
    """`size` multiplies every published volume (1.0 = the real LA); `area_codes` None means all LAs."""

    name: str
    area_codes: tuple[str, ...] | None
    size: float = 1.0
    first_year: int = 2021
    dirty_rate: float = 0.01  # default share of rows carrying a data problem
    icb_months: int = 36  # monthly ICB files written, ending with the as-of month
    home_area: str = LANCASHIRE  # the partnership: manual scorecards, PAP tracker, risks, survey
    # Whether problems may orphan rows (a request deleted or rejected while its assessment stays).
    # Off for the demo: the pipeline's blocking check "every assessment belongs to a known request"
    # would (rightly) stop publication.
    orphans: bool = True

    def areas(self) -> list[str]:
        return list(self.area_codes) if self.area_codes is not None else all_la_codes()

    @property
    def area_code(self) -> str:
        return self.home_area

    @property
    def la_code(self) -> str:
        """DfE three-digit LA code of the home area (used in UPNs)."""
        return str(load_targets().loc[self.home_area, "old_la_code"])

    def resized(self, size: float) -> Scale:
        return Scale(**{**self.__dict__, "size": self.size * size})


SCALES = {
    # Lancashire's shape at about a sixth of its size: ~600 requests in 2024, ~2,000 active plans.
    "demo": Scale("demo", (LANCASHIRE,), size=0.164, dirty_rate=0.01, icb_months=24, orphans=False),
    "lancashire": Scale("lancashire", (LANCASHIRE,)),
    "region": Scale("region", LSC_ICB),
    # Every LA at England's volumes. ICB files cover the last 12 months only (they dominate the size).
    "national": Scale("national", None, dirty_rate=0.005, icb_months=12),
}
