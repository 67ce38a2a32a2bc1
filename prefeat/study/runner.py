"""Step 4 for one model: tune it, fit it out of fold and on every row, time it, and trace its learning curve."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from prefeat.metrics import log_loss, scores
from prefeat.models import IdentityModel, make_model
from prefeat.models.identity import authors_named
from prefeat.paths import cache_root
from prefeat.study.config import StudyConfig
from prefeat.study.curves import fits_seconds, learning_curve
from prefeat.study.fitcache import FitCache, fit_key
from prefeat.study.oof import CVResult, cross_validate, write_predictions
from prefeat.study.plan import CVPlan, TuningSplit
from prefeat.study.prepare import StudyData
from prefeat.study.records import ModelRun
from prefeat.study.steps import Steps
from prefeat.study.tuning import TuningResult, tune

TIMED_ROWS = 1000  # prediction speed is timed on this many rows


def runnable_models(models: tuple[str, ...], data: StudyData, steps: Steps) -> tuple[str, ...]:
    """``models`` without the identity model where the training battles name fewer than two models, which
    it learns from (one line says so); ValueError when nothing is left."""
    authors = authors_named(data.texts)
    if IdentityModel.name not in models or len(authors) >= 2:
        return models
    steps.say(4, f"identity model skipped: the training battles name {len(authors)} model(s), it needs two or more")
    kept = tuple(name for name in models if name != IdentityModel.name)
    if not kept:
        raise ValueError("no model to run: the identity model needs training battles that name two models or more")
    return kept


def tune_model(
    name: str, config: StudyConfig, data: StudyData, run_dir, time_budget, worker: int = 0
) -> list[TuningResult]:
    """Tune ``name`` once on the rows of each part of the study's tuning split, each part with an equal share
    of ``time_budget``; a worker with the same config joins the same studies."""
    plan, split = data.plan(name, config), data.split(config)
    options = {"storage": config.storage, "worker": worker, "show_progress": config.show_progress}
    share = time_budget / len(split.tune)
    return [
        tune(name, plan.subset(rows), run_dir, config.trials, share, label=tuning_label(name, part, split), **options)
        for part, rows in enumerate(split.tune)
    ]


def tuning_label(name: str, part: int, split: TuningSplit) -> str:
    return f"{name}_half{part}" if split.crossed else name


def honest_fits(name: str, params: list[dict], plan: CVPlan, split: TuningSplit, show_progress: bool) -> CVResult:
    """Out-of-fold predictions of the scored rows, each from the parameters that its own label did not choose."""
    results = [
        cross_validate(name, part_params, plan, score_mask=rows, show_progress=show_progress)
        for part_params, rows in zip(params, split.score, strict=True)
    ]
    oof = np.full((len(plan.y), 3), np.nan)
    for result, rows in zip(results, split.score, strict=True):
        oof[rows] = result.oof[rows]
    scored = split.scored
    fold_losses = [
        log_loss(plan.y[scored & (plan.folds == fold)], oof[scored & (plan.folds == fold)])
        for fold in sorted(np.unique(plan.folds[scored]))
    ]
    return CVResult(oof=oof, fold_losses=fold_losses, fit_seconds=sum(result.fit_seconds for result in results))


def final_part(cv: CVResult, plan: CVPlan, split: TuningSplit) -> int:
    """The part whose tuned parameters the final model keeps: those that scored best on the rows they scored."""
    losses = [log_loss(plan.y[rows], cv.oof[rows]) for rows in split.score]
    return int(np.argmin(losses))


def fit_model(
    name: str, params: list[dict], plan: CVPlan, split: TuningSplit, config: StudyConfig, steps: Steps
) -> tuple[CVResult, object, float]:
    """The honest out-of-fold fits and the refit on every row, read from the fit cache when it has them.

    Returns the cross-validation, the refitted model and the refit's seconds."""
    cache = FitCache(cache_root(config.cache_dir))
    key = fit_key(name, params, plan, split)
    cached = cache.load(key, name)
    if cached is not None:
        steps.say(4, f"{name}: out-of-fold fits and refit read from the cache")
        return cached
    with steps.timed(f"out-of-fold fits {name}"):
        cv = honest_fits(name, params, plan, split, config.show_progress)
    started = time.perf_counter()
    with steps.timed(f"refit {name}"):
        final = make_model(name, params[final_part(cv, plan, split)], symmetric=plan.symmetric, random_state=plan.seed)
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
    """Tune, fit and time model ``name``; return what the study measured (on the scored rows) and the model
    refitted on every row."""
    plan, split = data.plan(name, config), data.split(config)
    with steps.timed(f"tune {name}"):
        tunings = tune_model(name, config, data, run_dir, time_budget)
    per_fold = [t.seconds_per_fold for t in tunings if t.seconds_per_fold is not None]
    estimate = fits_seconds(
        float(np.median(per_fold)) if per_fold else None, split.tune[0].mean(), config.n_splits, len(tunings)
    )
    trials, seconds = sum(t.n_trials for t in tunings), sum(t.seconds for t in tunings)
    steps.say(4, f"{name}: {trials} trials in {seconds:.0f} s; out-of-fold fits and refit", estimate)
    cv, final, refit_seconds = fit_model(name, [t.params for t in tunings], plan, split, config, steps)
    chosen, scored = final_part(cv, plan, split), split.scored
    cv_scores = scores(plan.y[scored], cv.oof[scored])
    write_predictions(run_dir / "oof" / f"{name}.parquet", plan.X.index[scored], cv.oof[scored])
    X_test = data.inputs(name, test=True)  # the test table is only timed here
    tuned = tunings[chosen]
    improvement = None
    if tuned.best_loss is not None and tuned.default_loss is not None:
        improvement = tuned.best_loss - tuned.default_loss
    run = ModelRun(
        name=name,
        params=tuned.params,
        oof=cv.oof[scored],
        scores=cv_scores,
        fold_losses=cv.fold_losses,
        tune_seconds=seconds,
        n_trials=trials,
        tuned_minus_default=improvement,
        tune_fold_seconds=float(np.median(per_fold)) if per_fold else None,
        cv_fit_seconds=cv.fit_seconds,
        refit_seconds=refit_seconds,
        predict_seconds_per_1000=seconds_per_1000(final, (X_test if X_test is not None else plan.X).iloc[:TIMED_ROWS]),
    )
    curve = {}
    if split.crossed:  # on the rows the final parameters score; at full size the curve would cost too much
        with steps.timed(f"learning curve {name}"):
            curve = learning_curve(name, tuned.params, plan, split.score[chosen], config.show_progress)
    chosen_rows = split.score[chosen]  # every point of the curve scores the same rows, with the same parameters
    run.learning_curve = {**curve, 1.0: log_loss(plan.y[chosen_rows], cv.oof[chosen_rows])}
    return run, final
