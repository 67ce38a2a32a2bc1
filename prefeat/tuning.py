"""Optuna tuning: one resumable study per model, scored on the shared folds.

Storage defaults to a SQLite file in the run folder, so an interrupted study resumes where it
stopped; any SQLAlchemy URL works instead (PostgreSQL lets several processes share a study).
The sampler is a seeded TPE; folds report their running mean so the median pruner can stop a
poor trial after its first folds. Both budgets count what the study already spent: finished
trials, and tuning seconds (stored with the study), so a rerun or a resumed study only does what
is left. Results repeat exactly when the trial budget binds before the time budget.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import optuna

from prefeat.models import MODELS
from prefeat.oof import cross_validate

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
SPENT_SECONDS = "tuning_seconds"


def default_storage(run_dir) -> str:
    path = Path(run_dir) / "tuning" / "optuna.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.resolve()}"


def open_study(
    name: str, run_dir=None, storage: str | None = None, seed: int = 0, study_name: str | None = None
) -> optuna.Study:
    """Create or reopen the study for model ``name`` (``study.trials_dataframe()`` lists its trials)."""
    return optuna.create_study(
        study_name=study_name or name,
        storage=storage or default_storage(run_dir),
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        load_if_exists=True,
    )


def tune(
    name: str,
    X,
    y,
    folds,
    groups,
    run_dir,
    n_trials: int = 30,
    time_budget: float | None = 300.0,
    storage: str | None = None,
    seed: int = 0,
    symmetric: bool = True,
    show_progress: bool = True,
    study_name: str | None = None,
) -> dict:
    """Tune model ``name`` and return its best parameters (also saved as JSON in the run folder)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(name, run_dir, storage, seed, study_name)
    model_class = MODELS[name]

    def objective(trial: optuna.Trial) -> float:
        params = model_class.search_space(trial)

        def report(fold: int, running_mean: float) -> None:
            trial.report(running_mean, fold)
            if trial.should_prune():
                raise optuna.TrialPruned()

        result = cross_validate(name, params, X, y, folds, groups, symmetric=symmetric, seed=seed, on_fold=report)
        trial.set_user_attr("fit_seconds", result.fit_seconds)
        return float(np.mean(result.fold_losses))

    done = sum(trial.state in FINISHED for trial in study.trials)
    if done == 0:
        # the first trial is the hand-set default, so tuning never ends worse than no tuning
        study.enqueue_trial(model_class.default_params(), skip_if_exists=True)
    spent = float(study.user_attrs.get(SPENT_SECONDS, 0.0))
    time_left = None if time_budget is None else time_budget - spent
    if done < n_trials and (time_left is None or time_left > 0):
        started = time.perf_counter()
        study.optimize(objective, n_trials=n_trials - done, timeout=time_left, show_progress_bar=show_progress)
        study.set_user_attr(SPENT_SECONDS, spent + time.perf_counter() - started)
    best = study.best_params
    out = Path(run_dir) / "tuning" / f"{name}_best.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"model": name, "log_loss": study.best_value, "params": best}, indent=2))
    return best


def budget_share(time_budget: float, spent: float, models_left: int) -> float:
    """One model's share of a joint tuning budget: what is left, split evenly over the models left.

    Tuning the cheap models first hands what they do not use on to the expensive ones.
    """
    return max(time_budget - spent, 0.0) / models_left


def spent_seconds(name: str, run_dir=None, storage: str | None = None, study_name: str | None = None) -> float:
    """Tuning seconds stored with a study, over every call that added trials."""
    return float(open_study(name, run_dir, storage, study_name=study_name).user_attrs.get(SPENT_SECONDS, 0.0))
