"""The whole study: load, featurize, fold, tune, out-of-fold, stack, refit, predict, explain, report."""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from prefeat import explain, report, stacking
from prefeat.features.embedding import DEFAULT_MODEL
from prefeat.featurizer import ArenaFeaturizer
from prefeat.folds import assign_folds
from prefeat.io import load_battles
from prefeat.metrics import scores
from prefeat.models import MODELS, make_model
from prefeat.oof import cross_validate, write_predictions
from prefeat.tuning import budget_share, spent_seconds, tune

SUBMISSION_COLUMNS = ("winner_model_a", "winner_model_b", "winner_tie")
SUBMISSION_FLOOR = 1e-6
LEARNING_FRACTIONS = (0.25, 0.5)  # 1.0 is the cross-validation itself


@dataclass
class StudyConfig:
    train: str
    out: str
    test: str | None = None
    families: str | list[str] | None = None
    embedding_model: str = DEFAULT_MODEL
    embedding_max_length: int | None = None
    models: tuple[str, ...] = tuple(MODELS)
    trials: int = 30
    time_budget: float = 600.0
    seed: int = 0
    n_splits: int = 5
    symmetric: bool = True
    storage: str | None = None
    cache_dir: str | None = None
    shap_rows: int = 1000
    show_progress: bool = True


@dataclass
class ModelRun:
    """What the study measured for one model."""

    name: str
    params: dict
    oof: np.ndarray
    test_folds: np.ndarray | None
    scores: dict
    fold_losses: list[float]
    tune_seconds: float = 0.0
    cv_fit_seconds: float = 0.0
    refit_seconds: float = 0.0
    predict_seconds_per_1000: float = 0.0
    size_bytes: int = 0
    learning_curve: dict = field(default_factory=dict)


def file_digest(path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def say(step: int, total: int, what: str) -> None:
    print(f"[{step}/{total}] {what}", flush=True)


def featurize(config: StudyConfig, battles: pd.DataFrame) -> pd.DataFrame:
    featurizer = ArenaFeaturizer(
        families=config.families,
        embedding_model=config.embedding_model,
        embedding_max_length=config.embedding_max_length,
        cache_dir=config.cache_dir,
        show_progress=config.show_progress,
    )
    return featurizer.set_output(transform="pandas").fit_transform(battles)


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


def run_model(
    name, config, X, y, folds, groups, X_test, run_dir: Path, study_tag: str, time_budget: float
) -> tuple[ModelRun, object]:
    study_name = f"{name}-{study_tag}"
    params = tune(
        name, X, y, folds, groups, run_dir,
        n_trials=config.trials,
        time_budget=time_budget,
        storage=config.storage,
        seed=config.seed,
        symmetric=config.symmetric,
        show_progress=config.show_progress,
        study_name=study_name,
    )  # fmt: skip
    tune_seconds = spent_seconds(name, run_dir, config.storage, study_name)
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
    model_path = run_dir / "models" / f"{name}.pkl"
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model_path.write_bytes(pickle.dumps(final))
    run = ModelRun(
        name=name,
        params=params,
        oof=cv.oof,
        test_folds=cv.test,
        scores=cv_scores,
        fold_losses=cv.fold_losses,
        tune_seconds=tune_seconds,
        cv_fit_seconds=cv.fit_seconds,
        refit_seconds=refit_seconds,
        predict_seconds_per_1000=predict_per_1000,
        size_bytes=model_path.stat().st_size,
        learning_curve={
            **learning_curve(name, params, X, y, folds, groups, config.seed, config.symmetric),
            1.0: cv_scores["log_loss"],
        },
    )
    return run, final


def submission_frame(ids, proba: np.ndarray) -> pd.DataFrame:
    """Kaggle's submission: one row per id, probabilities strictly inside (0, 1), rows summing to 1."""
    proba = np.clip(np.asarray(proba, dtype=float), SUBMISSION_FLOOR, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return pd.DataFrame({"id": list(ids), **dict(zip(SUBMISSION_COLUMNS, proba.T, strict=True))})


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    names = ["prefeat", "numpy", "pandas", "scikit-learn", "xgboost-cpu", "catboost", "optuna", "shap", "textstat"]
    names += ["sentence-transformers", "torch", "model2vec"]
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def study_tag(config: StudyConfig, train_digest: str, columns) -> str:
    """A key for the Optuna studies: reused only for the same data, features, embedding, seed and folds."""
    key = {
        "train": train_digest,
        "columns": list(columns),
        "embedding": [config.embedding_model, config.embedding_max_length],
        "seed": config.seed,
        "folds": config.n_splits,
        "symmetric": config.symmetric,
    }
    return hashlib.blake2b(json.dumps(key).encode(), digest_size=6).hexdigest()


def run_study(config: StudyConfig) -> Path:
    """Run every step and return the run folder."""
    total = 8
    run_dir = Path(config.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    say(1, total, f"load {config.train}" + (f" and {config.test}" if config.test else ""))
    train = load_battles(config.train)
    test = load_battles(config.test) if config.test else None
    digests = {"train": file_digest(config.train), **({"test": file_digest(config.test)} if config.test else {})}

    say(2, total, "featurize (cached on disk)")
    X = featurize(config, train).set_axis(train["id"].to_numpy())
    X_test = featurize(config, test).set_axis(test["id"].to_numpy()) if test is not None else None
    y = train["label"].to_numpy(dtype=int)

    say(3, total, f"assign {config.n_splits} folds grouped by prompt (seed {config.seed})")
    fold_table = assign_folds(train, config.n_splits, config.seed)
    fold_table.to_parquet(run_dir / "folds.parquet", index=False)
    folds, groups = fold_table["fold"].to_numpy(), fold_table["group"].to_numpy()

    tag = study_tag(config, digests["train"], X.columns)
    runs, finals = {}, {}
    for index, name in enumerate(config.models):
        say(4, total, f"tune, cross-validate and refit {name}")
        spent = sum(run.tune_seconds for run in runs.values())
        budget = budget_share(config.time_budget, spent, len(config.models) - index)
        runs[name], finals[name] = run_model(name, config, X, y, folds, groups, X_test, run_dir, tag, budget)

    say(5, total, "stack the out-of-fold predictions")
    oof = [runs[name].oof for name in config.models]
    blends = {"average": stacking.average(oof), "stack": stacking.stack_out_of_fold(oof, y, folds)}
    for blend, proba in blends.items():
        write_predictions(run_dir / "oof" / f"{blend}.parquet", X.index, proba)
    stacker = stacking.Stacker().fit(oof, y)

    if X_test is not None:
        say(6, total, f"predict {len(X_test)} test battles with the refitted models and the stack")
        refit_test = [finals[name].predict_proba(X_test) for name in config.models]
        for name in config.models:
            write_predictions(run_dir / "test" / f"{name}.parquet", X_test.index, runs[name].test_folds)
        submission = submission_frame(test["id"], stacker.predict_proba(refit_test))
        submission.to_csv(run_dir / "submission.csv", index=False)
    else:
        say(6, total, "no test file: no submission")

    say(7, total, "explain with SHAP")
    explanations = {
        name: explain.explain_model(finals[name], X, X.index, run_dir / "shap", config.shap_rows, seed=config.seed)
        for name in config.models
    }

    say(8, total, "write the report")
    meta = {
        "config": asdict(config),
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
