"""Demo and development tooling, outside the production chain: the embedded local environment, the
information-governance walk-through of `make demo` and its printed summary, and the generator of
docs/source_contracts.md. Production code (dags/, orchestration/, ingestion/, warehouse/) never
imports it.
"""
