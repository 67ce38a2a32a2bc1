"""The whole study: load, featurize, fold, tune, out-of-fold, stack, save the pipeline, predict, explain, report."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from prefeat.models import stacking
from prefeat.pipeline import PreferencePipeline, load_pipeline, package_versions, submission_frame
from prefeat.study import explain, report, standings
from prefeat.study.config import StudyConfig
from prefeat.study.oof import write_predictions
from prefeat.study.prepare import prepare
from prefeat.study.runner import run_model, runnable_models
from prefeat.study.steps import TOTAL_STEPS, Steps
from prefeat.study.tuning import budget_share
from prefeat.threads import limited_threads


def run_study(config: StudyConfig) -> Path:
    """Run every step on ``config.n_jobs`` cores and return the run folder."""
    with limited_threads(config.n_jobs):  # every part that starts threads or processes reads this count
        return run_steps(config)


def run_steps(config: StudyConfig) -> Path:
    steps = Steps(TOTAL_STEPS)
    run_dir = Path(config.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    data = prepare(config, steps)
    config = dataclasses.replace(config, models=runnable_models(config.models, data, steps))
    data.folds.to_parquet(run_dir / "folds.parquet", index=False)
    train, test, X, X_test = data.train, data.test, data.X, data.X_test
    split = data.split(config)  # every score below is of the scored rows: their labels chose nothing
    scored = split.scored
    y, folds, scored_ids = data.y[scored], data.folds["fold"].to_numpy()[scored], X.index[scored]

    runs, finals = {}, {}
    for index, name in enumerate(config.models):
        spent = sum(run.tune_seconds for run in runs.values())
        budget = budget_share(config.time_budget, spent, len(config.models) - index)
        left = max(config.time_budget - spent, 0.0)
        steps.say(
            4,
            f"tune ({budget:.0f} s of the {left:.0f} s of tuning left), cross-validate and refit {name} "
            f"({index + 1} of {len(config.models)})",
        )
        runs[name], finals[name] = run_model(name, config, data, run_dir, budget, steps)

    steps.say(5, "stack the out-of-fold predictions")
    with steps.timed("stack"):
        oof = [runs[name].oof for name in config.models]
        blends = {"average": stacking.average(oof), "stack": stacking.stack_out_of_fold(oof, y, folds)}
        for blend, proba in blends.items():
            write_predictions(run_dir / "oof" / f"{blend}.parquet", scored_ids, proba)
        stacker = stacking.Stacker().fit(oof, y)

    steps.say(6, "save the pipeline (settings, models, stacker, manifest)")
    with steps.timed("save pipeline"):
        pipeline = PreferencePipeline(config.features, finals, stacker, config.cache_dir, learned=data.learned)
        pipeline_dir = pipeline.save(run_dir / "pipeline")
    for name in config.models:
        runs[name].size_bytes = sum(p.stat().st_size for p in (pipeline_dir / "models").glob(f"{name}.*"))

    if test is not None:
        predict_seconds = sum(run.predict_seconds_per_1000 for run in runs.values()) * len(test) / 1000
        steps.say(7, f"predict {len(test)} test battles with the saved pipeline", left=predict_seconds)
        with steps.timed("predict test"):
            # the models and stacker still in memory, on the test features computed in step 2: what the saved
            # pipeline, loaded back, must reproduce (tests compare the two)
            in_memory = [finals[name].predict_proba(data.inputs(name, test=True)) for name in config.models]
            write_predictions(
                run_dir / "test" / "stack_in_memory.parquet", X_test.index, stacker.predict_proba(in_memory)
            )
            loaded = load_pipeline(pipeline_dir, cache_dir=config.cache_dir, show_progress=config.show_progress)
            per_model = loaded.model_probas(test)
            for name, proba in per_model.items():
                write_predictions(run_dir / "test" / f"{name}.parquet", X_test.index, proba)
            stacked = loaded.stacker.predict_proba(list(per_model.values()))
            submission_frame(test["id"], stacked).to_csv(run_dir / "submission.csv", index=False)
    else:
        steps.say(7, "no test file: no submission")

    steps.say(8, f"explain with SHAP on up to {config.shap_rows} rows")
    explanations = {}
    for name in config.models:
        with steps.timed(f"SHAP {name}"):
            model, out = finals[name], run_dir / "shap"
            inputs = data.inputs(name)
            explanations[name] = explain.explain_model(model, inputs, X.index, out, config.shap_rows, seed=config.seed)

    steps.say(9, "write the report")
    meta = {
        "config": config.record(),
        "feature_fingerprint": config.features.fingerprint(),
        "data_digests": data.digests,
        "rows": {"train": len(train), "scored": int(scored.sum()), "test": 0 if test is None else len(test)},
        "honest_scores": split.describe(),
        "n_features": X.shape[1],
        "versions": package_versions(),
        "stacker": {
            "weights": dict(zip(config.models, stacker.weights_.round(4).tolist(), strict=True)),
            "tie_intercept": round(stacker.tie_intercept_, 4),
        },
    }
    with steps.timed("leaderboard"):
        table = standings.models_leaderboard(train, X, config.seed, run_dir / "figures" / "leaderboard.png")
        if not isinstance(table, str):
            table.to_csv(run_dir / "leaderboard.csv")
    with steps.timed("report"):
        path = report.write_report(run_dir, runs, blends, y, explanations, meta, table)
    steps.save(run_dir / "timings.json")
    print(f"report: {path}", flush=True)
    return run_dir
