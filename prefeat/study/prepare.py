"""Steps 1 to 3: load and check the battles, featurize them, assign the folds."""

from __future__ import annotations

import dataclasses
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from prefeat.data.battles import BattleDataError, load_battles
from prefeat.data.digest import file_digest
from prefeat.data.text import answer_texts
from prefeat.features.featurizer import ArenaFeaturizer, dask_scheduler
from prefeat.models import MODELS
from prefeat.study.config import StudyConfig
from prefeat.study.folds import assign_folds, prompt_groups
from prefeat.study.plan import CVPlan, TuningSplit, tuning_split
from prefeat.study.steps import Steps


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
    if n_groups < 2 * n_splits or counts.max() < 2 * n_splits:  # each half of the prompts tunes on its own folds
        raise BattleDataError(
            path,
            f"{len(battles)} battles with {n_groups} distinct prompts are too few for {n_splits} folds in each "
            "half of the prompts",
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
                options["n_jobs"] = config.n_jobs
                featurizers[family] = ArenaFeaturizer.from_settings(settings, **options).fit(battles)
            blocks.append(featurizers[family].set_output(transform="pandas").transform(battles))
    return pd.concat(blocks, axis=1).set_axis(battles["id"].to_numpy()), featurizers


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

    def split(self, config: StudyConfig) -> TuningSplit:
        """Which battles tune the models and which the tuned parameters score (the same for every model)."""
        return tuning_split(self.folds["group"].to_numpy(), config.tune_rows, config.seed)

    def plan(self, name: str, config: StudyConfig) -> CVPlan:
        """The cross-validation plan of model ``name`` on every training battle."""
        folds, groups = self.folds["fold"].to_numpy(), self.folds["group"].to_numpy()
        return CVPlan(self.inputs(name), self.y, folds, groups, config.seed, config.symmetric)


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
        scheduler = config.dask and stack.enter_context(dask_scheduler(config.dask, config.n_jobs))
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
