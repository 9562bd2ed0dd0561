"""Generate synthetic SEND sources.

    python -m synthetic --scale demo --seed 42 --as-of 2026-10-31 --target sqlite:///source.sqlite
    python -m synthetic --scale lancashire --out data/synthetic            # database in the folder too
    python -m synthetic --scale region --target 'sqlite:///x/cms_{area_code}.sqlite' --out x --dirty-rate 0.02

Scales: demo (Lancashire at a sixth of its size), lancashire, region (the ICB footprint), national
(all 153 LAs). The same seed and as-of date give the same output.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from synthetic.generator import generate_all
from synthetic.la_case_management import DEFAULT_FIRST_YEAR
from synthetic.scales import SCALES


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m synthetic", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=sorted(SCALES), default="demo")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date.today(), help="snapshot date")
    parser.add_argument(
        "--dirty-rate", type=float, default=None, help="share of rows with a data problem (default: the scale's)"
    )
    parser.add_argument("--target", help="SQLAlchemy URL of the case-management database(s); '{area_code}' per LA")
    parser.add_argument("--out", type=Path, help="folder for ICB provider files and manual returns")
    parser.add_argument("--first-year", type=int, default=DEFAULT_FIRST_YEAR, help="first year of LA history")
    parser.add_argument("--size", type=float, default=1.0, help="multiply the scale's volumes (e.g. 0.01 to try it)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel workers for several LAs")
    parser.add_argument("--areas", help="comma-separated LA codes: regenerate only these LAs of the scale")
    parser.add_argument("--icb-months", type=int, default=None, help="monthly files to write (default: the scale's)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if not args.target and not args.out:
        parser.error("give --target, --out or both")
    if args.dirty_rate is not None and not 0 <= args.dirty_rate <= 0.5:
        parser.error("--dirty-rate must be between 0 and 0.5")
    target = args.target
    if target is None:
        args.out.mkdir(parents=True, exist_ok=True)
        name = "la_case_management.sqlite" if len(SCALES[args.scale].areas()) == 1 else "la_{area_code}.sqlite"
        target = f"sqlite:///{(args.out / name).resolve()}"
    summary = generate_all(
        args.scale,
        args.seed,
        args.as_of,
        target,
        args.out,
        dirty_rate=args.dirty_rate,
        size=args.size,
        first_year=args.first_year,
        jobs=args.jobs,
        progress=not args.no_progress,
        areas=args.areas.split(",") if args.areas else None,
        icb_months=args.icb_months,
    )
    print("\n".join(summary.lines()))


if __name__ == "__main__":
    main()
