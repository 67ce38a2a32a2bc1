"""Step 4 for one model: tune it, fit it out of fold and on every row, time it, and trace its learning curve."""

from __future__ import annotations

import time
from pathlib import Path

from prefeat.metrics import scores
from prefeat.models import make_model
from prefeat.paths import cache_root
from prefeat.study.config import StudyConfig
from prefeat.study.curves import fits_seconds, learning_curve
from prefeat.study.fitcache import FitCache, fit_key
from prefeat.study.oof import CVResult, cross_validate, write_predictions
from prefeat.study.plan import CVPlan, grouped_subsample
from prefeat.study.prepare import StudyData
from prefeat.study.records import ModelRun
from prefeat.study.steps import Steps
from prefeat.study.tuning import tune

TIMED_ROWS = 1000  # prediction speed is timed on this many rows


def tune_model(name: str, config: StudyConfig, data: StudyData, run_dir, time_budget, worker: int = 0):
    """Tune ``name`` on the study's grouped subsample; a worker with the same config joins the same study.

    Returns the tuning result and the mask of the rows it tuned on."""
    plan = data.plan(name, config)
    rows = grouped_subsample(plan.groups, config.tune_rows, config.seed)
    options = {"storage": config.storage, "worker": worker, "show_progress": config.show_progress}
    return tune(name, plan.subset(rows), run_dir, config.trials, time_budget, **options), rows


def fit_model(name: str, params, plan: CVPlan, config: StudyConfig, steps: Steps) -> tuple[CVResult, object, float]:
    """The out-of-fold fits and the refit on every row, read from the fit cache when it has them.

    Returns the cross-validation, the refitted model and the refit's seconds."""
    cache = FitCache(cache_root(config.cache_dir))
    key = fit_key(name, params, plan)
    cached = cache.load(key, name)
    if cached is not None:
        steps.say(4, f"{name}: out-of-fold fits and refit read from the cache")
        return cached
    with steps.timed(f"out-of-fold fits {name}"):
        cv = cross_validate(name, params, plan, show_progress=config.show_progress)
    started = time.perf_counter()
    with steps.timed(f"refit {name}"):
        final = make_model(name, params, symmetric=plan.symmetric, random_state=plan.seed)
        final.fit(plan.X, plan.y, groups=plan.groups)
    refit_seconds = time.perf_counter() - started
    cache.save(key, cv, final, refit_seconds)
    return cv, final, refit_seconds


def seconds_per_1000(model, rows) -> float:
    """Wall seconds ``model`` takes to predict 1,000 of ``rows``."""
    started = time.perf_counter()
    model.predict_proba(rows)
    return (time.perf_counter() - started) / len(rows) * 1000


def run_model(
    name, config: StudyConfig, data: StudyData, run_dir: Path, time_budget: float, steps: Steps
) -> tuple[ModelRun, object]:
    """Tune, fit and time model ``name``; return what the study measured and the model refitted on every row."""
    plan = data.plan(name, config)
    with steps.timed(f"tune {name}"):
        tuned, subsample = tune_model(name, config, data, run_dir, time_budget)
    estimate = fits_seconds(tuned.seconds_per_fold, subsample.mean(), config.n_splits, subsample.all())
    steps.say(4, f"{name}: {tuned.n_trials} trials in {tuned.seconds:.0f} s; out-of-fold fits and refit", estimate)
    cv, final, refit_seconds = fit_model(name, tuned.params, plan, config, steps)
    cv_scores = scores(plan.y, cv.oof)
    write_predictions(run_dir / "oof" / f"{name}.parquet", plan.X.index, cv.oof)
    X_test = data.inputs(name, test=True)  # the test table is only timed here
    improvement = None
    if tuned.best_loss is not None and tuned.default_loss is not None:
        improvement = tuned.best_loss - tuned.default_loss
    run = ModelRun(
        name=name,
        params=tuned.params,
        oof=cv.oof,
        scores=cv_scores,
        fold_losses=cv.fold_losses,
        tune_seconds=tuned.seconds,
        n_trials=tuned.n_trials,
        tuned_minus_default=improvement,
        tune_fold_seconds=tuned.seconds_per_fold,
        cv_fit_seconds=cv.fit_seconds,
        refit_seconds=refit_seconds,
        predict_seconds_per_1000=seconds_per_1000(final, (X_test if X_test is not None else plan.X).iloc[:TIMED_ROWS]),
    )
    if subsample.all():
        with steps.timed(f"learning curve {name}"):
            curve = learning_curve(name, tuned.params, plan, config.show_progress)
    else:  # the tuning's best trial is already these parameters' cross-validation on the subsample
        curve = {} if tuned.best_loss is None else {float(subsample.mean()): tuned.best_loss}
    run.learning_curve = {**curve, 1.0: cv_scores["log_loss"]}
    return run, final
