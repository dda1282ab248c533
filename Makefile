# The two set-up commands (see README): `make demo` and `make test`.
# Each creates its own virtual environment in .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test venv lab bench clean mutate

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (trailbook)" >/dev/null
	touch $@

venv: $(VENV)/.installed

# The main job: demo data -> local store -> every detection -> every notebook rendered, with the index.
demo: $(VENV)/.installed
	$(PY) -m trailbook.cli findings --source demo --out demo/findings.jsonl
	$(PY) -m trailbook.cli report --notebooks all --engine local \
		--start 2026-10-22T00:00:00Z --end 2026-10-29T00:00:00Z --out reports

# The gate first (seconds): lint and import order, types, and the layer table; then the suite.
test: $(VENV)/.installed
	$(VENV)/bin/ruff check lib
	$(VENV)/bin/mypy
	$(PY) -m pytest -q tests/test_layers.py
	$(PY) -m pytest -n 2 --dist loadgroup -q

lab: $(VENV)/.installed
	$(PY) -m trailbook.cli lab

# Everything benchmarks/README.md reports (hours: the organization sets are generated on first use).
# `$(PY) benchmarks/run.py --quick` is the two-minute smoke run.
bench: $(VENV)/.installed
	$(PY) benchmarks/run.py
	$(PY) benchmarks/run.py --sizes org-1m --rounds-org 3
	$(PY) benchmarks/bench_scale.py --rounds 3
	$(PY) benchmarks/bench_incremental.py --rounds 3

# Mutation testing (slow; not part of `make test`): tests/mutation/README.md. Narrow it with
# `make mutate MODULES="params mask" QUERIES="console_brute_force"`; the score is tests/mutation/score.md.
mutate: $(VENV)/.installed
	$(PY) -m pip install --quiet 'cosmic-ray==8.7.0'
	$(PY) tests/mutation/run_modules.py $(MODULES)
	$(PY) tests/mutation/catalog_mutants.py $(QUERIES)

clean:
	rm -rf $(VENV) demo reports
