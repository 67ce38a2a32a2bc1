"""The whole study: load, featurize, fold, tune, out-of-fold, stack, save the pipeline, predict, explain, report."""

from __future__ import annotations

import dataclasses
import json
import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from prefeat import explain, report, stacking
from prefeat.features.embedding import cache_root
from prefeat.featurizer import ArenaFeaturizer, dask_scheduler
from prefeat.fitcache import FitCache, fit_key
from prefeat.folds import assign_folds, prompt_groups
from prefeat.io import BattleDataError, file_digest, load_battles
from prefeat.lexical import answer_texts
from prefeat.metrics import scores
from prefeat.models import MODELS, make_model
from prefeat.oof import cross_validate, write_predictions
from prefeat.pipeline import PreferencePipeline, load_pipeline, package_versions, submission_frame
from prefeat.records import ModelRun
from prefeat.settings import FeaturizerSettings
from prefeat.tuning import DEFAULT_TIME_BUDGET, DEFAULT_TRIALS, budget_share, tune

LEARNING_FRACTIONS = (0.25, 0.5)  # 1.0 is the cross-validation itself
TUNE_ROWS = 10_000  # above this, tuning trials run on a grouped subsample; the final fits use every row
TOTAL_STEPS = 9
TIMED_ROWS = 1000  # prediction speed is timed on this many rows


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
    tune_rows: int | None = TUNE_ROWS  # None: tune on every row
    dask: str | None = None  # a Dask scheduler address, or "local", for featurizing
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
        for private in ("out", "cache_dir", "dask"):
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
    """Prints ``[k/N] what`` with the time the study has run, and times named parts into ``timings.json``."""

    def __init__(self, total: int):
        self.total, self.started = total, time.perf_counter()
        self.records: list[dict] = []

    def say(self, step: int, what: str, left: float | None = None) -> None:
        """Print the step with the study's elapsed time and, when given, the seconds this part has left."""
        elapsed = time.perf_counter() - self.started
        estimate = "" if left is None else f", about {left / 60:.1f} min left in this part"
        print(f"[{step}/{self.total}] {what} (study running {elapsed / 60:.1f} min{estimate})", flush=True)

    @contextmanager
    def timed(self, part: str):
        """Record wall seconds of ``part``, with wall-clock start and end (for a memory sampler to align)."""
        start, started = time.time(), time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        self.records.append({"part": part, "seconds": seconds, "start": start, "end": time.time()})

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.records, indent=2))


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


def featurize(
    config: StudyConfig, battles: pd.DataFrame, steps: Steps, role: str, scheduler=None, fitted=None
) -> tuple[pd.DataFrame, dict[str, ArenaFeaturizer]]:
    """The feature table of ``battles`` and the featurizer of each family, one family at a time so
    each family's time is recorded. The training battles fit the featurizers; pass them as
    ``fitted`` to featurize the test battles with what the training texts taught them."""
    blocks, featurizers = [], dict(fitted or {})
    for family in config.features.families:
        with steps.timed(f"featurize {role}: {family}"):
            if family not in featurizers:
                settings = dataclasses.replace(config.features, families=(family,))
                options = {"cache_dir": config.cache_dir, "show_progress": config.show_progress, "scheduler": scheduler}
                featurizers[family] = ArenaFeaturizer.from_settings(settings, **options).fit(battles)
            blocks.append(featurizers[family].set_output(transform="pandas").transform(battles))
    return pd.concat(blocks, axis=1).set_axis(battles["id"].to_numpy()), featurizers


def tuning_rows(groups: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """A mask of whole prompt groups, drawn at random, holding about ``limit`` battles (all when fewer).

    Whole groups keep the folds grouped; each row keeps its fold, so a trial scores the same
    5-fold scheme on fewer rows.
    """
    if limit is None or len(groups) <= limit:
        return np.ones(len(groups), dtype=bool)
    order = np.random.default_rng(seed).permutation(np.unique(groups))
    sizes = pd.Series(groups).value_counts().reindex(order).to_numpy()
    kept = order[: int(np.searchsorted(np.cumsum(sizes), limit)) + 1]
    return np.isin(groups, kept)


def fits_seconds(seconds_per_fold: float | None, tuned_share: float, n_splits: int, curve: bool) -> float | None:
    """What the out-of-fold fits, the refit and the learning curve should take, from the tuning trials'
    seconds per fold on ``tuned_share`` of the rows (fit time taken as growing with the rows; a refit
    reads n/(n-1) of a fold fit's rows; the curve repeats the folds on each of LEARNING_FRACTIONS)."""
    if seconds_per_fold is None:
        return None
    fold_fits = n_splits + n_splits / (n_splits - 1) + (n_splits * sum(LEARNING_FRACTIONS) if curve else 0)
    return seconds_per_fold / tuned_share * fold_fits


def learning_curve(name, params, X, y, folds, groups, seed, symmetric, show_progress=False) -> dict[float, float]:
    """Out-of-fold log loss when each training fold keeps only a fraction of its rows."""
    rng = np.random.default_rng(seed)
    keep_order = rng.permutation(len(y))
    curve = {}
    for fraction in LEARNING_FRACTIONS:
        kept = np.zeros(len(y), dtype=bool)
        kept[keep_order[: round(fraction * len(y))]] = True
        options = {"symmetric": symmetric, "seed": seed, "train_mask": kept, "show_progress": show_progress}
        oof = cross_validate(name, params, X, y, folds, groups, **options).oof
        curve[fraction] = scores(y, oof)["log_loss"]
    return curve


def run_model(
    name, config: StudyConfig, data: StudyData, run_dir: Path, time_budget: float, steps: Steps
) -> tuple[ModelRun, object]:
    X, y, X_test = data.inputs(name), data.y, data.inputs(name, test=True)  # the test table is only timed
    folds, groups = data.folds["fold"].to_numpy(), data.folds["group"].to_numpy()
    with steps.timed(f"tune {name}"):
        tuned, subsample = tune_model(name, config, data, run_dir, time_budget)
    params = tuned.params
    cache = FitCache(cache_root(config.cache_dir))
    key = fit_key(name, params, config.seed, config.symmetric, X, y, folds, groups)
    cached = cache.load(key, name)
    if cached is not None:
        steps.say(4, f"{name}: out-of-fold fits and refit read from the cache")
        cv, final, refit_seconds = cached
    else:
        estimate = fits_seconds(tuned.seconds_per_fold, subsample.mean(), config.n_splits, subsample.all())
        steps.say(4, f"{name}: {tuned.n_trials} trials in {tuned.seconds:.0f} s; out-of-fold fits and refit", estimate)
        with steps.timed(f"out-of-fold fits {name}"):
            cv = cross_validate(
                name, params, X, y, folds, groups, symmetric=config.symmetric, seed=config.seed,
                show_progress=config.show_progress,
            )  # fmt: skip
        started = time.perf_counter()
        with steps.timed(f"refit {name}"):
            final = make_model(name, params, symmetric=config.symmetric, random_state=config.seed)
            final.fit(X, y, groups=groups)
        refit_seconds = time.perf_counter() - started
        cache.save(key, cv, final, refit_seconds)
    cv_scores = scores(y, cv.oof)
    write_predictions(run_dir / "oof" / f"{name}.parquet", X.index, cv.oof)
    timed_rows = (X_test if X_test is not None else X).iloc[:TIMED_ROWS]
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
        scores=cv_scores,
        fold_losses=cv.fold_losses,
        tune_seconds=tuned.seconds,
        n_trials=tuned.n_trials,
        tuned_minus_default=improvement,
        tune_fold_seconds=tuned.seconds_per_fold,
        cv_fit_seconds=cv.fit_seconds,
        refit_seconds=refit_seconds,
        predict_seconds_per_1000=predict_per_1000,
    )
    if subsample.all():
        with steps.timed(f"learning curve {name}"):
            curve = learning_curve(
                name, params, X, y, folds, groups, config.seed, config.symmetric, config.show_progress
            )
    else:  # the tuning's best trial is already these parameters' cross-validation on the subsample
        curve = {} if tuned.best_loss is None else {float(subsample.mean()): tuned.best_loss}
    run.learning_curve = {**curve, 1.0: cv_scores["log_loss"]}
    return run, final


@dataclass
class StudyData:
    """The loaded battles, their features and the one fold column, as every step uses them."""

    train: pd.DataFrame
    test: pd.DataFrame | None
    X: pd.DataFrame
    X_test: pd.DataFrame | None
    folds: pd.DataFrame
    digests: dict
    learned: dict = field(default_factory=dict)  # what each family's featurizer learned from the training texts

    @property
    def y(self) -> np.ndarray:
        return self.train["label"].to_numpy(dtype=int)

    @cached_property
    def texts(self) -> pd.DataFrame:
        return answer_texts(self.train)

    @cached_property
    def texts_test(self) -> pd.DataFrame | None:
        return None if self.test is None else answer_texts(self.test)

    def inputs(self, name: str, test: bool = False) -> pd.DataFrame | None:
        """What model ``name`` reads, indexed by ``id``: the feature table, or the answers' texts."""
        if MODELS[name].reads == "texts":
            return self.texts_test if test else self.texts
        return self.X_test if test else self.X


def prepare(config: StudyConfig, steps: Steps) -> StudyData:
    """Load, check, featurize and fold: steps 1 to 3, shared by the study and its tuning workers."""
    steps.say(1, f"load {config.train}" + (f" and {config.test}" if config.test else ""))
    with steps.timed("load"):
        train = load_battles(config.train)
        check_trainable(train, config.train, config.n_splits)
        test = load_battles(config.test) if config.test else None
    digests = {"train": file_digest(config.train), **({"test": file_digest(config.test)} if config.test else {})}
    steps.say(2, "featurize (cached on disk)" + (f" on Dask ({config.dask})" if config.dask else ""))
    with ExitStack() as stack:
        scheduler = config.dask and stack.enter_context(dask_scheduler(config.dask, config.features.n_jobs))
        started = time.perf_counter()
        X, featurizers = featurize(config, train, steps, "train", scheduler)
        X_test = None
        if test is not None:  # the same families on other battles: about as long per battle
            per_battle = (time.perf_counter() - started) / len(train)
            steps.say(2, f"featurize the {len(test)} test battles", left=per_battle * len(test))
            X_test = featurize(config, test, steps, "test", scheduler, featurizers)[0]
    steps.say(3, f"assign {config.n_splits} folds grouped by prompt (seed {config.seed})")
    with steps.timed("folds"):
        folds = assign_folds(train, config.n_splits, config.seed)
    learned = {name: arrays for featurizer in featurizers.values() for name, arrays in featurizer.learned_.items()}
    return StudyData(train, test, X, X_test, folds, digests, learned)


def tune_model(name: str, config: StudyConfig, data: StudyData, run_dir, time_budget, worker: int = 0):
    """Tune ``name`` on the study's grouped subsample; a worker with the same config joins the same study."""
    folds, groups = data.folds["fold"].to_numpy(), data.folds["group"].to_numpy()
    rows = tuning_rows(groups, config.tune_rows, config.seed)
    options = {"storage": config.storage, "seed": config.seed, "symmetric": config.symmetric, "worker": worker}
    options |= {"n_trials": config.trials, "time_budget": time_budget, "show_progress": config.show_progress}
    return tune(name, data.inputs(name)[rows], data.y[rows], folds[rows], groups[rows], run_dir, **options), rows


def run_study(config: StudyConfig) -> Path:
    """Run every step and return the run folder."""
    steps = Steps(TOTAL_STEPS)
    run_dir = Path(config.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    data = prepare(config, steps)
    data.folds.to_parquet(run_dir / "folds.parquet", index=False)
    train, test, X, X_test, y = data.train, data.test, data.X, data.X_test, data.y
    folds = data.folds["fold"].to_numpy()

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
            write_predictions(run_dir / "oof" / f"{blend}.parquet", X.index, proba)
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
        "rows": {"train": len(train), "test": 0 if test is None else len(test)},
        "n_features": X.shape[1],
        "versions": package_versions(),
        "stacker": {
            "weights": dict(zip(config.models, stacker.weights_.round(4).tolist(), strict=True)),
            "tie_intercept": round(stacker.tie_intercept_, 4),
        },
    }
    with steps.timed("report"):
        path = report.write_report(run_dir, runs, blends, y, explanations, meta)
    steps.save(run_dir / "timings.json")
    print(f"report: {path}", flush=True)
    return run_dir
