"""The command line, and the promise that the same seed gives the same output."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from synthetic.__main__ import main

ARGS = ["--as-of", "2026-03-31", "--size", "0.1", "--icb-months", "2", "--no-progress", "--first-year", "2025"]


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix != ".sqlite"
    }


def _tables(path: Path) -> dict[str, pd.DataFrame]:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        tables = {n: pd.read_sql(sa.text(f"select * from {n}"), conn) for n in names}
    engine.dispose()
    return tables


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folders = {}
    for label, seed, areas in (("a", "5", []), ("b", "5", []), ("c", "6", ["--areas", "E06000009"])):
        out = tmp_path_factory.mktemp(label)
        main(["--scale", "region", "--seed", seed, "--out", str(out), "--dirty-rate", "0.05", *areas, *ARGS])
        folders[label] = out
    return folders


def test_writes_a_database_per_la_and_the_files(runs, capsys):
    out = runs["a"]
    assert len(list(out.glob("la_E*.sqlite"))) == 4  # the ICB footprint's four LAs
    assert any((out / "icb_nd_pathway").iterdir()) and any((out / "manual_returns").iterdir())


def test_same_seed_same_output_other_seed_other_output(runs):
    assert _digest(runs["a"]) == _digest(runs["b"])
    for path in sorted(runs["a"].glob("*.sqlite")):
        first, second = _tables(path), _tables(runs["b"] / path.name)
        assert first.keys() == second.keys()
        for name in first:
            pd.testing.assert_frame_equal(first[name], second[name])
    blackpool = "la_E06000009.sqlite"
    other_seed = _tables(runs["c"] / blackpool)["ssd_ehcp_requests"]
    assert not other_seed.equals(_tables(runs["a"] / blackpool)["ssd_ehcp_requests"])


def test_prints_what_it_made(tmp_path, capsys):
    main(["--scale", "demo", "--target", f"sqlite:///{tmp_path / 'x.sqlite'}", *ARGS])
    printed = capsys.readouterr().out
    assert "LA tables:" in printed and "size: databases" in printed
    assert (tmp_path / "x.sqlite").exists()


def test_needs_somewhere_to_write():
    with pytest.raises(SystemExit):
        main(["--scale", "demo"])
