"""Optuna tuning: one resumable study per model and tuning rows, scored on those rows' folds.

A study is named by the model and a hash of what it is scored on (features, labels, folds,
groups, seed, symmetry), of the model's search space, of prefeat's source and of the fitting
libraries' versions, so a rerun on the same data and code resumes it, and different data, a changed
search space or an edit to prefeat never resumes trials scored otherwise. Studies live in one
SQLite file beside the run folders (``runs/optuna.db`` for ``runs/<timestamp>``) unless a
SQLAlchemy URL is given (PostgreSQL lets several processes share a study). The sampler is a seeded
TPE; folds report their running mean so the median pruner can stop a poor trial after its first
folds. Trial 0 is the model's hand-set defaults, every parameter the search space draws.

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
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState

from prefeat.models import MODELS
from prefeat.study.fitcache import code_fingerprint
from prefeat.study.oof import cross_validate
from prefeat.study.plan import CVPlan
from prefeat.study.storage import (
    DEFAULTS,
    SECONDS,
    WORKER,
    create_or_open_study,
    default_storage,
    recover_interrupted,
    seed_default_trial,
    spent_seconds,
    worker_id,
)

DEFAULT_TRIALS = 30
DEFAULT_TIME_BUDGET = 600.0  # seconds: all models of a study together; tune() gives one model all of it
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
STOPPED = "stopped"
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


class SpaceRecorder:
    """A stand-in for an Optuna trial that records what a search space draws: each name, kind, bounds, step, scale."""

    def __init__(self):
        self.drawn = []

    def suggest_float(self, name, low, high, *, step=None, log=False):
        self.drawn.append(["float", name, low, high, step, log])
        return low

    def suggest_int(self, name, low, high, *, step=1, log=False):
        self.drawn.append(["int", name, low, high, step, log])
        return low

    def suggest_categorical(self, name, choices):
        self.drawn.append(["categorical", name, list(choices)])
        return choices[0]


def describe_search_space(name: str) -> list:
    """What model ``name``'s search space draws, in order: ``[kind, name, low, high, step, log]`` per parameter."""
    recorder = SpaceRecorder()
    MODELS[name].search_space(recorder)
    return recorder.drawn


def study_name_for(name: str, plan: CVPlan) -> str:
    """The model's name and a hash of everything its trials are scored on and drawn from."""
    digest = hashlib.blake2b(plan.digest(), digest_size=6)
    digest.update(json.dumps([describe_search_space(name), code_fingerprint()], default=str).encode())
    return f"{name}-{digest.hexdigest()}"


def objective_for(name: str, plan: CVPlan, deadline: float | None, study: optuna.Study):
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

        result = cross_validate(name, params, plan, on_fold=after_fold)
        trial.set_user_attr(SECONDS, time.perf_counter() - started)
        return float(np.mean(result.fold_losses))

    return objective


def tune(
    name: str,
    plan: CVPlan,
    run_dir,
    n_trials: int = DEFAULT_TRIALS,
    time_budget: float | None = DEFAULT_TIME_BUDGET,
    storage: str | None = None,
    show_progress: bool = True,
    study_name: str | None = None,
    worker: int = 0,
    label: str | None = None,
) -> TuningResult:
    """Tune model ``name`` on ``plan``'s folds; the result is also saved as ``tuning/<label>_best.json``
    (``label`` defaults to ``name``).

    ``n_trials`` counts the study's finished trials, whoever ran them: several processes (``worker``
    0, 1, ...) calling this on the same data and storage share one study and stop together. The
    sampler's seed moves on with the trials already stored and with the worker, so a resumed study
    or a second worker does not draw the same parameters again. When no trial completed (a budget
    spent before the first trial could finish), the model's default parameters are returned.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = storage or default_storage(run_dir)
    seed = plan.seed
    study_name = study_name or study_name_for(name, plan)
    study, created = create_or_open_study(study_name, storage, seed)
    # the first trial is the hand-set default (default_params names every key the space draws), so "tuned -
    # default" compares with the defaults and tuning never ends worse than no tuning; it is found by its tag,
    # since one enqueued by a loader whose creator died is not always trial 0
    seed_default_trial(study, MODELS[name].default_params(), created, worker)
    recover_interrupted(study)
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials) + WORKER_SEED_STEP * worker)
    done = sum(trial.state in FINISHED for trial in study.trials)
    time_left = None if time_budget is None else time_budget - spent_seconds(study)
    if done < n_trials and (time_left is None or time_left > 0):
        deadline = None if time_left is None else time.perf_counter() + time_left
        objective = objective_for(name, plan, deadline, study)
        enough = optuna.study.MaxTrialsCallback(n_trials, states=FINISHED)  # counts every worker's trials
        study.optimize(
            objective, n_trials=n_trials - done, timeout=time_left, show_progress_bar=show_progress, callbacks=[enough]
        )
    result = summarise(study, name)
    out = Path(run_dir) / "tuning" / f"{label or name}_best.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(asdict(result), indent=2))
    return result


def summarise(study: optuna.Study, name: str) -> TuningResult:
    trials = study.get_trials(deepcopy=False)
    complete = [trial for trial in trials if trial.state == TrialState.COMPLETE]
    default_trial = next((trial for trial in complete if trial.user_attrs.get(DEFAULTS)), None)
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
