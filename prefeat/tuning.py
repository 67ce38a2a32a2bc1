"""Optuna tuning: one resumable study per model and data, scored on the shared folds.

A study is named by the model and a hash of what it is scored on (features, labels, folds,
groups, seed, symmetry), so a rerun on the same data resumes it and different data never
shares it. Studies live in one SQLite file beside the run folders (``runs/optuna.db`` for
``runs/<timestamp>``) unless a SQLAlchemy URL is given (PostgreSQL lets several processes share a
study). The sampler is a seeded TPE; folds report their running mean so the median pruner can
stop a poor trial after its first folds.

Both budgets count what the study already spent: finished trials, and the wall seconds every trial
has used, stored on the trial after each fold, so time spent before an interruption counts too.
The time budget is checked after every fold: a trial that runs past it is stopped there (recorded
as pruned, with ``stopped = "time budget"``), so a model overshoots its share by at most one fold
fit. Interrupted trials do not stay ``RUNNING``: a trial whose process on this machine is gone is
failed at the next start, other stale trials by Optuna's heartbeat, and each failed trial is
retried once with the same parameters (Optuna's ``RetryHeartbeatStaleTrialCallback``). Results repeat
exactly when the trial budget binds before the time budget.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from prefeat.io import table_digest
from prefeat.models import MODELS
from prefeat.oof import cross_validate

DEFAULT_TRIALS = 30
DEFAULT_TIME_BUDGET = 600.0  # seconds: all models of a study together; tune() gives one model all of it
STORAGE_FILE = "optuna.db"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
SECONDS = "seconds"  # trial user attribute: wall seconds used so far, updated after each fold
WORKER = "worker"  # trial user attribute: "host:pid" of the process running it
STOPPED = "stopped"
HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 60
MAX_RETRY = 1
WORKER_SEED_STEP = 7919  # a prime: worker k's sampler seeds never meet worker 0's


@dataclass
class TuningResult:
    """What tuning one model found and spent."""

    model: str
    params: dict
    study_name: str
    n_trials: int
    seconds: float
    best_loss: float | None
    default_loss: float | None
    seconds_per_fold: float | None = None  # median over trials: what a fold fit costs on the tuning rows


def default_storage(run_dir) -> str:
    """The SQLite file beside the run folder, shared by reruns."""
    path = Path(run_dir).resolve().parent / STORAGE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def make_storage(url: str) -> RDBStorage:
    """An RDB storage with a heartbeat, so a trial of a dead worker is failed and retried."""
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    with without_experimental_warnings():
        return RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=HEARTBEAT_SECONDS,
            grace_period=GRACE_SECONDS,
            heartbeat_stale_trial_callback=retry_callback(),
        )


def retry_callback() -> RetryHeartbeatStaleTrialCallback:
    with without_experimental_warnings():
        return RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)


@contextmanager
def without_experimental_warnings():
    """Optuna still tags its heartbeat and retry API experimental, though stable since 2021."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def study_name_for(name: str, X, y, folds, groups, seed: int, symmetric: bool) -> str:
    """The model's name and a hash of everything its trials are scored on."""
    digest = hashlib.blake2b(digest_size=6)
    digest.update(json.dumps([seed, symmetric]).encode() + table_digest(X))
    for array in (y, folds, groups):
        digest.update(np.ascontiguousarray(array).tobytes())
    return f"{name}-{digest.hexdigest()}"


def open_study(study_name: str, storage: str, seed: int = 0, attempts: int = 5) -> optuna.Study:
    """Create or reopen a study (``study.trials_dataframe()`` lists its trials).

    Workers that start together race to create the storage's tables and the study; the loser of
    that race retries, and then finds what the winner made.
    """
    from sqlalchemy.exc import SQLAlchemyError

    for attempt in range(attempts):
        try:
            return optuna.create_study(
                study_name=study_name,
                storage=make_storage(storage),
                direction="minimize",
                sampler=optuna.samplers.TPESampler(seed=seed),
                pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
                load_if_exists=True,
            )
        except SQLAlchemyError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def spent_seconds(study: optuna.Study) -> float:
    """Wall seconds all trials of the study have used, finished or not (a queued retry has used none)."""
    trials = study.get_trials(deepcopy=False)
    return float(sum(t.user_attrs.get(SECONDS, 0.0) for t in trials if t.state != TrialState.WAITING))


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_is_gone(worker: str) -> bool:
    """True for a process of this machine that no longer runs (other machines: the heartbeat decides)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def recover_interrupted(study: optuna.Study) -> list[int]:
    """Fail the trials left ``RUNNING`` by a dead local process and retry every failed trial once.

    Returns the numbers of the trials queued again.
    """
    storage = study._storage
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if worker_is_gone(trial.user_attrs.get(WORKER, "")):
            storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    trials = study.get_trials(deepcopy=False)
    retried = {trial.system_attrs.get("failed_trial") for trial in trials}
    queued = []
    retry = retry_callback()
    for trial in trials:
        if trial.state == TrialState.FAIL and trial.number not in retried:
            retry(study, trial)
            queued.append(trial.number)
    return queued


def objective_for(name, X, y, folds, groups, seed, symmetric, deadline, study):
    """The Optuna objective: mean fold log loss, stopped at the fold where the deadline passes."""
    model_class = MODELS[name]

    def objective(trial: optuna.Trial) -> float:
        started = time.perf_counter()
        trial.set_user_attr(WORKER, worker_id())
        params = model_class.search_space(trial)

        def after_fold(fold: int, running_mean: float) -> None:
            trial.set_user_attr(SECONDS, time.perf_counter() - started)
            trial.report(running_mean, fold)
            if trial.should_prune():
                raise optuna.TrialPruned()
            if deadline is not None and time.perf_counter() > deadline:
                trial.set_user_attr(STOPPED, "time budget")
                study.stop()
                raise optuna.TrialPruned()

        result = cross_validate(name, params, X, y, folds, groups, symmetric=symmetric, seed=seed, on_fold=after_fold)
        trial.set_user_attr(SECONDS, time.perf_counter() - started)
        return float(np.mean(result.fold_losses))

    return objective


def tune(
    name: str,
    X,
    y,
    folds,
    groups,
    run_dir,
    n_trials: int = DEFAULT_TRIALS,
    time_budget: float | None = DEFAULT_TIME_BUDGET,
    storage: str | None = None,
    seed: int = 0,
    symmetric: bool = True,
    show_progress: bool = True,
    study_name: str | None = None,
    worker: int = 0,
) -> TuningResult:
    """Tune model ``name``; the result is also saved as ``tuning/<name>_best.json`` in the run folder.

    ``n_trials`` counts the study's finished trials, whoever ran them: several processes (``worker``
    0, 1, ...) calling this on the same data and storage share one study and stop together. The
    sampler's seed moves on with the trials already stored and with the worker, so a resumed study
    or a second worker does not draw the same parameters again. When no trial completed (a budget
    spent before the first trial could finish), the model's default parameters are returned.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = storage or default_storage(run_dir)
    study_name = study_name or study_name_for(name, X, y, folds, groups, seed, symmetric)
    study = open_study(study_name, storage, seed)
    recover_interrupted(study)
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials) + WORKER_SEED_STEP * worker)
    model_class = MODELS[name]
    if not study.trials:
        # the first trial is the hand-set default, so tuning never ends worse than no tuning
        study.enqueue_trial(model_class.default_params(), skip_if_exists=True)
    done = sum(trial.state in FINISHED for trial in study.trials)
    time_left = None if time_budget is None else time_budget - spent_seconds(study)
    if done < n_trials and (time_left is None or time_left > 0):
        deadline = None if time_left is None else time.perf_counter() + time_left
        objective = objective_for(name, X, y, folds, groups, seed, symmetric, deadline, study)
        enough = optuna.study.MaxTrialsCallback(n_trials, states=FINISHED)  # counts every worker's trials
        study.optimize(
            objective, n_trials=n_trials - done, timeout=time_left, show_progress_bar=show_progress, callbacks=[enough]
        )
    result = summarise(study, name)
    out = Path(run_dir) / "tuning" / f"{name}_best.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(asdict(result), indent=2))
    return result


def summarise(study: optuna.Study, name: str) -> TuningResult:
    trials = study.get_trials(deepcopy=False)
    complete = [trial for trial in trials if trial.state == TrialState.COMPLETE]
    default_trial = next((trial for trial in complete if trial.number == 0), None)  # the enqueued defaults
    best = min(complete, key=lambda trial: trial.value) if complete else None
    return TuningResult(
        model=name,
        params=best.params if best else MODELS[name].default_params(),
        study_name=study.study_name,
        n_trials=sum(trial.state in FINISHED for trial in trials),
        seconds=spent_seconds(study),
        best_loss=best.value if best else None,
        default_loss=default_trial.value if default_trial else None,
        seconds_per_fold=median_fold_seconds(trials),
    )


def median_fold_seconds(trials) -> float | None:
    """Wall seconds per fold of the trials that finished a fold (None before any did)."""
    per_fold = [
        t.user_attrs[SECONDS] / len(t.intermediate_values)
        for t in trials
        if t.intermediate_values and SECONDS in t.user_attrs
    ]
    return float(np.median(per_fold)) if per_fold else None


def budget_share(time_budget: float, spent: float, models_left: int) -> float:
    """One model's share of a joint tuning budget: what is left, split evenly over the models left.

    Tuning the cheap models first hands what they do not use on to the expensive ones.
    """
    return max(time_budget - spent, 0.0) / models_left
