"""The whole study: load, featurize, fold, tune, out-of-fold, stack, save the pipeline, predict, explain, report."""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from prefeat import explain, report, stacking
from prefeat.featurizer import ArenaFeaturizer
from prefeat.folds import assign_folds, prompt_groups
from prefeat.io import BattleDataError, load_battles
from prefeat.metrics import scores
from prefeat.models import MODELS, make_model
from prefeat.oof import cross_validate, write_predictions
from prefeat.pipeline import PreferencePipeline, load_pipeline, package_versions
from prefeat.records import ModelRun
from prefeat.settings import FeaturizerSettings
from prefeat.tuning import DEFAULT_TIME_BUDGET, DEFAULT_TRIALS, budget_share, tune

LEARNING_FRACTIONS = (0.25, 0.5)  # 1.0 is the cross-validation itself
TOTAL_STEPS = 9


@dataclass
class StudyConfig:
    train: str
    out: str
    test: str | None = None
    features: FeaturizerSettings = field(default_factory=FeaturizerSettings)
    models: tuple[str, ...] = tuple(MODELS)
    trials: int = DEFAULT_TRIALS
    time_budget: float = DEFAULT_TIME_BUDGET
    seed: int = 0
    n_splits: int = 5
    symmetric: bool = True
    storage: str | None = None  # None: runs/optuna.db beside the run folder (prefeat.tuning.default_storage)
    cache_dir: str | None = None
    shap_rows: int = 1000
    show_progress: bool = True

    def record(self) -> dict:
        """The settings for the report: file names rather than this machine's paths, no password."""
        values = asdict(self)
        values["train"] = Path(self.train).name
        values["test"] = self.test and Path(self.test).name
        values["storage"] = describe_storage(self.storage)
        values["features"] = self.features.to_dict()
        for private in ("out", "cache_dir"):
            values.pop(private)
        return values


def describe_storage(url: str | None) -> str:
    if url is None:
        return "default (optuna.db beside the run folder)"
    if url.startswith("sqlite:///"):
        return f"sqlite:///{Path(url.removeprefix('sqlite:///')).name}"
    from sqlalchemy.engine import make_url

    return make_url(url).set(host="<host>").render_as_string(hide_password=True)


class Steps:
    """Prints ``[k/N] what`` with the time the study has run, so long runs show where they are."""

    def __init__(self, total: int):
        self.total, self.started = total, time.perf_counter()

    def say(self, step: int, what: str) -> None:
        elapsed = time.perf_counter() - self.started
        print(f"[{step}/{self.total}] {what} (study running {elapsed / 60:.1f} min)", flush=True)


def file_digest(path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_trainable(battles: pd.DataFrame, path, n_splits: int) -> None:
    """Refuse, naming the file, training data that cannot give three-class folds."""
    counts = np.bincount(battles["label"].to_numpy(dtype=int), minlength=3)
    if counts[2] == 0 or counts[:2].sum() == 0:
        raise BattleDataError(
            path,
            f"the training battles need wins and ties to learn P(A), P(B), P(tie); got A {counts[0]}, "
            f"B {counts[1]}, tie {counts[2]}",
            column="winner_tie" if counts[2] == 0 else "winner_model_a",
        )
    n_groups = len(np.unique(prompt_groups(battles)))
    if n_groups < n_splits or counts.max() < n_splits:
        raise BattleDataError(
            path, f"{len(battles)} battles with {n_groups} distinct prompts are too few for {n_splits} folds"
        )


def featurize(config: StudyConfig, battles: pd.DataFrame) -> pd.DataFrame:
    featurizer = ArenaFeaturizer.from_settings(
        config.features, cache_dir=config.cache_dir, show_progress=config.show_progress
    )
    return featurizer.set_output(transform="pandas").fit_transform(battles).set_axis(battles["id"].to_numpy())


def learning_curve(name, params, X, y, folds, groups, seed, symmetric) -> dict[float, float]:
    """Out-of-fold log loss when each training fold keeps only a fraction of its rows."""
    rng = np.random.default_rng(seed)
    keep_order = rng.permutation(len(y))
    curve = {}
    for fraction in LEARNING_FRACTIONS:
        kept = np.zeros(len(y), dtype=bool)
        kept[keep_order[: round(fraction * len(y))]] = True
        oof = cross_validate(name, params, X, y, folds, groups, symmetric=symmetric, seed=seed, train_mask=kept).oof
        curve[fraction] = scores(y, oof)["log_loss"]
    return curve


def run_model(name, config, X, y, folds, groups, X_test, run_dir: Path, time_budget: float) -> tuple[ModelRun, object]:
    tuned = tune(
        name, X, y, folds, groups, run_dir,
        n_trials=config.trials,
        time_budget=time_budget,
        storage=config.storage,
        seed=config.seed,
        symmetric=config.symmetric,
        show_progress=config.show_progress,
    )  # fmt: skip
    params = tuned.params
    cv = cross_validate(name, params, X, y, folds, groups, X_test=X_test, symmetric=config.symmetric, seed=config.seed)
    cv_scores = scores(y, cv.oof)
    write_predictions(run_dir / "oof" / f"{name}.parquet", X.index, cv.oof)
    started = time.perf_counter()
    final = make_model(name, params, symmetric=config.symmetric, random_state=config.seed).fit(X, y, groups=groups)
    refit_seconds = time.perf_counter() - started
    timed_rows = X_test if X_test is not None else X
    started = time.perf_counter()
    final.predict_proba(timed_rows)
    predict_per_1000 = (time.perf_counter() - started) / len(timed_rows) * 1000
    improvement = None
    if tuned.best_loss is not None and tuned.default_loss is not None:
        improvement = tuned.best_loss - tuned.default_loss
    run = ModelRun(
        name=name,
        params=params,
        oof=cv.oof,
        test_folds=cv.test,
        scores=cv_scores,
        fold_losses=cv.fold_losses,
        tune_seconds=tuned.seconds,
        n_trials=tuned.n_trials,
        tuned_minus_default=improvement,
        cv_fit_seconds=cv.fit_seconds,
        refit_seconds=refit_seconds,
        predict_seconds_per_1000=predict_per_1000,
        learning_curve={
            **learning_curve(name, params, X, y, folds, groups, config.seed, config.symmetric),
            1.0: cv_scores["log_loss"],
        },
    )
    return run, final


def run_study(config: StudyConfig) -> Path:
    """Run every step and return the run folder."""
    steps = Steps(TOTAL_STEPS)
    run_dir = Path(config.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    steps.say(1, f"load {config.train}" + (f" and {config.test}" if config.test else ""))
    train = load_battles(config.train)
    check_trainable(train, config.train, config.n_splits)
    test = load_battles(config.test) if config.test else None
    digests = {"train": file_digest(config.train), **({"test": file_digest(config.test)} if config.test else {})}

    steps.say(2, "featurize (cached on disk)")
    X = featurize(config, train)
    X_test = featurize(config, test) if test is not None else None
    y = train["label"].to_numpy(dtype=int)

    steps.say(3, f"assign {config.n_splits} folds grouped by prompt (seed {config.seed})")
    fold_table = assign_folds(train, config.n_splits, config.seed)
    fold_table.to_parquet(run_dir / "folds.parquet", index=False)
    folds, groups = fold_table["fold"].to_numpy(), fold_table["group"].to_numpy()

    runs, finals = {}, {}
    for index, name in enumerate(config.models):
        steps.say(4, f"tune, cross-validate and refit {name} ({index + 1} of {len(config.models)})")
        spent = sum(run.tune_seconds for run in runs.values())
        budget = budget_share(config.time_budget, spent, len(config.models) - index)
        runs[name], finals[name] = run_model(name, config, X, y, folds, groups, X_test, run_dir, budget)

    steps.say(5, "stack the out-of-fold predictions")
    oof = [runs[name].oof for name in config.models]
    blends = {"average": stacking.average(oof), "stack": stacking.stack_out_of_fold(oof, y, folds)}
    for blend, proba in blends.items():
        write_predictions(run_dir / "oof" / f"{blend}.parquet", X.index, proba)
    stacker = stacking.Stacker().fit(oof, y)

    steps.say(6, "save the pipeline (settings, models, stacker, manifest)")
    pipeline_dir = PreferencePipeline(config.features, finals, stacker, config.cache_dir).save(run_dir / "pipeline")
    for name in config.models:
        runs[name].size_bytes = sum(p.stat().st_size for p in (pipeline_dir / "models").glob(f"{name}.*"))

    if test is not None:
        steps.say(7, f"predict {len(test)} test battles with the saved pipeline")
        for name in config.models:
            write_predictions(run_dir / "test" / f"{name}.parquet", X_test.index, runs[name].test_folds)
        pipeline = load_pipeline(pipeline_dir, cache_dir=config.cache_dir, show_progress=config.show_progress)
        pipeline.predict_proba(test).to_csv(run_dir / "submission.csv", index=False)
    else:
        steps.say(7, "no test file: no submission")

    steps.say(8, f"explain with SHAP on up to {config.shap_rows} rows")
    explanations = {
        name: explain.explain_model(finals[name], X, X.index, run_dir / "shap", config.shap_rows, seed=config.seed)
        for name in config.models
    }

    steps.say(9, "write the report")
    meta = {
        "config": config.record(),
        "feature_fingerprint": config.features.fingerprint(),
        "data_digests": digests,
        "rows": {"train": len(train), "test": 0 if test is None else len(test)},
        "n_features": X.shape[1],
        "versions": package_versions(),
        "stacker": {
            "weights": dict(zip(config.models, stacker.weights_.round(4).tolist(), strict=True)),
            "tie_intercept": round(stacker.tie_intercept_, 4),
        },
    }
    path = report.write_report(run_dir, runs, blends, y, explanations, meta)
    print(f"report: {path}", flush=True)
    return run_dir
