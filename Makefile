# Two commands do everything on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
UV_VERSION := 0.13.8
UV := .tools/bin/uv
PY := .venv/bin/python
export DO_NOT_TRACK := 1
export SODA_CORE_TELEMETRY_ENABLED := false
export DBT_PROFILES_DIR := $(CURDIR)/dbt_project
# dbt parse renders the profile; the path is not opened.
DBT_ENV := SEND_WAREHOUSE_BUILD_PATH=$(CURDIR)/.local/parse.duckdb
DBT_SOURCES := $(shell find dbt_project/models dbt_project/seeds dbt_project/macros -type f 2>/dev/null) \
               dbt_project/dbt_project.yml dbt_project/profiles.yml
MANIFEST := dbt_project/target/manifest.json
FEED_MACRO := dbt_project/macros/feed_registry.sql

.PHONY: demo test up lint install system-packages manifest docs clean bench

demo: install manifest  ## generate sources, run the pipeline DAG once, print the KPIs
	$(PY) -m devtools demo

# One pytest-xdist worker per core, each taking whole test files, so a file's module fixtures (a DAG
# run, a dbt build) are made once.
test: install manifest lint  ## lint, then every test (unit, DAG integrity, integration)
	$(PY) -m pytest -n auto --dist loadfile

up: install manifest  ## Airflow UI + scheduler + dag-processor + triggerer on the embedded defaults
	$(PY) -m devtools up

lint: install manifest
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	cd dbt_project && $(DBT_ENV) ../.venv/bin/sqlfluff lint models

install: .venv/.installed system-packages

# Debian's Chromium prints the scorecard's PDF board pack and runs its browser tests (no browser download:
# other hosts are unreachable). Installed when missing and we are root; else said, and those steps skip.
DEBIAN_PACKAGES := chromium fonts-dejavu-core
system-packages:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DEBIAN_PACKAGES); \
	  else echo "chromium is not installed and apt-get needs root: no PDF board pack, browser tests skip"; fi; }

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

.venv/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	touch $@

manifest: $(FEED_MACRO) $(MANIFEST)

# dbt's feed lists, generated from the feed registry (ingestion/<feed>/feed.py): dbt cannot import Python.
$(FEED_MACRO): ingestion/registry.py ingestion/feed.py $(wildcard ingestion/*/feed.py) .venv/.installed
	$(PY) -m ingestion.registry
	touch $@

# Cosmos renders the DAG from this manifest, so DAG parsing never runs dbt.
$(MANIFEST): $(DBT_SOURCES) $(FEED_MACRO) .venv/.installed
	mkdir -p .local
	cd dbt_project && $(DBT_ENV) ../.venv/bin/dbt parse --quiet

docs: install manifest  ## dbt docs for the marts, in dbt_project/target/index.html
	cd dbt_project && $(DBT_ENV) ../.venv/bin/dbt docs generate --empty-catalog --quiet

bench: install manifest  ## stage timings and peak memory per scale, floor, incremental run: .local/bench/pipeline.json
	$(PY) -m bench.pipeline --scales "$${BENCH_SCALES:-lancashire,region,national}" --repeat "$${BENCH_REPEAT:-3}" --keep-sources $${BENCH_OPTIONS:-}

clean:
	rm -rf .local dbt_project/target dbt_project/logs
