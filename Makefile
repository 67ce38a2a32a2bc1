# `make run` and `make test` create .venv on first use and reinstall only when setup.cfg changes.
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
ARGS ?=

.PHONY: run test lint bench wheelhouse postgres

$(INSTALLED): setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: $(INSTALLED)
	$(PY) experiments/run_all.py $(ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# the tuning-worker tests start a throwaway PostgreSQL server: Debian's package, installed when missing (as root)
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	{ [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || \
	echo "PostgreSQL could not be installed: the tests that need it will skip"

# pytest's exit code 5 (no test collected) is not a failure of the build
test: lint postgres
	$(PY) -m pytest -q $(ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

# prefeat and what Kaggle's image lacks, as wheels for an offline install (README: Submit to Kaggle)
# KAGGLE_PYTHON=3.12 when Kaggle's notebook runs another Python than this machine
wheelhouse: $(INSTALLED)
	$(PY) experiments/build_wheelhouse.py --out dist/wheelhouse $(if $(KAGGLE_PYTHON),--python-version $(KAGGLE_PYTHON))

# about two hours on 2 cores; reads the real rows from ../shared/data
bench: $(INSTALLED)
	$(PY) benchmarks/bench_features.py
	$(PY) benchmarks/signal_check.py
	$(PY) benchmarks/embedding_length.py
	$(PY) benchmarks/embedding_choice.py
	$(PY) benchmarks/feature_choice.py
	$(PY) benchmarks/bench_lexical.py
	$(PY) benchmarks/bench_predict.py
	$(PY) benchmarks/bench_models.py --data kaggle
	$(PY) benchmarks/bench_models.py --data pandalm
