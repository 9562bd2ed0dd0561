"""python -m scorecard: build the board scorecard from any published DuckDB file."""

from __future__ import annotations

import argparse
from pathlib import Path

from scorecard.data import PROFILES
from scorecard.site import build


def main(argv: list[str] | None = None) -> None:
    from orchestration.settings import Settings

    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m scorecard", description=__doc__)
    parser.add_argument("--published", type=Path, default=settings.published_path, help="published DuckDB file")
    parser.add_argument("--out", type=Path, default=settings.scorecard_dir, help="the site (a symlink to its version)")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF board pack (no Chromium needed)")
    parser.add_argument("--profile", choices=PROFILES, action="append", help="edition(s) to build; default both")
    args = parser.parse_args(argv)
    built = build(args.published, args.out, pdf=not args.no_pdf, profiles=tuple(args.profile or PROFILES))
    print(f"scorecard: {built.pages} pages, {built.pdfs} PDF board packs in {built.seconds:.1f}s")
    print(f"open {built.site / 'index.html'}")


if __name__ == "__main__":
    main()
