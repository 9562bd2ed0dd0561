"""The board scorecard: a static site (HTML, CSS, SVG) and a PDF board pack built from the published marts
after every publish. `python -m scorecard` builds it from any published DuckDB file."""
