"""Past one machine: several tuning workers on one Optuna study in a real PostgreSQL server."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pandas as pd
from conftest import REPO, make_battles
from optuna.trial import TrialState
from sqlalchemy.exc import SQLAlchemyError

from prefeat.models import LinearModel
from prefeat.study.postgres import create_database
from prefeat.study.storage import DEFAULTS, SECONDS, WORKER
from prefeat.study.tuning import FINISHED

sys.path.insert(0, str(REPO / "experiments"))
import run_all
import tune_worker

TESTS = Path(__file__).resolve().parent


def start_worker(folder: Path, storage: str, n_trials: int, worker: int) -> subprocess.Popen:
    command = [sys.executable, str(TESTS / "tuning_worker.py"), str(folder), storage, str(n_trials), str(worker)]
    return subprocess.Popen(command, cwd=TESTS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def the_study(storage: str) -> optuna.Study:
    summaries = optuna.get_all_study_summaries(storage)
    assert len(summaries) == 1
    return optuna.load_study(study_name=summaries[0].study_name, storage=storage)


def wait_until(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_two_workers_share_one_study_without_duplicates(postgres_url, tmp_path):
    storage = create_database(postgres_url, "two_workers")
    workers = [start_worker(tmp_path / str(k), storage, 6, k) for k in (1, 2)]
    for worker in workers:
        assert worker.wait(timeout=300) == 0, worker.stdout.read()
    trials = the_study(storage).trials
    finished = [trial for trial in trials if trial.state in FINISHED]
    by_worker = Counter(trial.user_attrs[WORKER] for trial in finished)
    assert len(by_worker) == 2  # both pulled trials
    assert sum(by_worker.values()) == len(finished) >= 6  # the study holds the sum of their trials
    assert len(finished) <= 7  # each stops once the study holds 6; at most the other's running trial is added
    assert [trial.number for trial in trials] == list(range(len(trials)))
    # the defaults ran once, though both workers opened the study: a second enqueued default (a race between
    # the workers) or a worker whose sampler drew the other's values would repeat a trial. The defaults are
    # found by their tag, as the study summary finds them (prefeat.study.storage.seed_default_trial); that
    # the workers' samplers draw apart from the same stored trials is tested in test_tuning.py
    defaults = [trial for trial in finished if trial.params == {"C": LinearModel.default_params()["C"]}]
    assert len(defaults) == 1 and defaults[0].user_attrs.get(DEFAULTS) is True
    params = [tuple(sorted(trial.params.items())) for trial in finished]
    assert len(set(params)) == len(params)
    assert all(trial.state != TrialState.RUNNING for trial in trials)


def test_a_killed_worker_trial_is_failed_by_the_heartbeat_and_retried(postgres_url, tmp_path):
    storage = create_database(postgres_url, "killed_worker")
    doomed = start_worker(tmp_path / "1", storage, 8, 1)

    def doomed_is_mid_trial():
        try:
            if not optuna.get_all_study_summaries(storage):
                return False
            trials = the_study(storage).trials
        except SQLAlchemyError:  # the worker is still creating the storage's tables
            return False
        return any(t.state == TrialState.RUNNING and t.user_attrs.get(SECONDS) for t in trials)

    wait_until(doomed_is_mid_trial)
    survivor = start_worker(tmp_path / "2", storage, 8, 2)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=30)
    assert survivor.wait(timeout=300) == 0, survivor.stdout.read()
    trials = the_study(storage).trials
    assert all(trial.state != TrialState.RUNNING for trial in trials)
    failed = [trial for trial in trials if trial.state == TrialState.FAIL]
    assert len(failed) == 1
    retries = [trial for trial in trials if trial.system_attrs.get("failed_trial") == failed[0].number]
    assert len(retries) == 1 and retries[0].state in FINISHED and retries[0].params == failed[0].params
    assert sum(trial.state in FINISHED for trial in trials) >= 8


def the_studies(storage: str) -> list[optuna.Study]:
    names = sorted(summary.study_name for summary in optuna.get_all_study_summaries(storage))
    return [optuna.load_study(study_name=name, storage=storage) for name in names]


def test_the_study_run_uses_the_workers_trials_instead_of_tuning_again(postgres_url, tmp_path, monkeypatch):
    storage = create_database(postgres_url, "resume")
    make_battles(120, seed=1).to_csv(tmp_path / "train.csv", index=False)
    monkeypatch.setenv("PREFEAT_CACHE", str(tmp_path / "cache"))
    options = ["--train", str(tmp_path / "train.csv"), "--preset", "cheap", "--trials", "3", "--storage", storage]
    assert tune_worker.main([*options, "--model", "linear", "--out", str(tmp_path / "worker")]) == 0
    before = the_studies(storage)
    assert len(before) == 2  # one study per half of the prompts (each tunes for the other)
    assert [sum(trial.state in FINISHED for trial in study.trials) for study in before] == [3, 3]
    assert run_all.main([*options, "--models", "linear", "--out", str(tmp_path / "run")]) == 0
    after = the_studies(storage)
    assert [study.study_name for study in after] == [study.study_name for study in before]  # found the worker's
    assert [len(study.trials) for study in after] == [len(study.trials) for study in before]  # and added no trial
    results = pd.read_json(tmp_path / "run" / "results.json", typ="series")["results"]
    assert results[0]["model"] == "linear" and results[0]["n_trials"] == 6


def test_open_studies_hold_no_server_connections(postgres_url):
    """A run keeps one study per model and half open; each must not keep a connection of the server's few."""
    import sqlalchemy

    from prefeat.study.storage import create_or_open_study

    storage = create_database(postgres_url, "connections")
    studies = [create_or_open_study(f"study-{k}", storage)[0] for k in range(12)]
    for study in studies:
        study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    engine = sqlalchemy.create_engine(postgres_url, poolclass=sqlalchemy.pool.NullPool)
    with engine.connect() as connection:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = 'connections'"
        assert connection.exec_driver_sql(query).scalar() == 0
    assert len(studies) == 12  # the studies were alive while the server counted
