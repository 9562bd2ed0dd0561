"""python -m synthetic --scale demo --seed 42 --as-of 2026-10-31 --target sqlite:///source.sqlite"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from synthetic.la_case_management import SCALES, generate


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m synthetic", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="demo")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date.today())
    parser.add_argument("--target", required=True, help="SQLAlchemy URL of the case-management database")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = generate(args.target, args.scale, args.seed, args.as_of)
    took = time.perf_counter() - started
    print(f"generated {args.scale} (seed {args.seed}, as of {args.as_of}) in {took:.1f}s: {counts}")


if __name__ == "__main__":
    main()
