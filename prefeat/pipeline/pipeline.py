"""A saved pipeline: what a training run leaves so that another machine can predict, offline.

One folder holds the featurizer settings and what the featurizer learned from the training texts
(``featurizer.npz``), the feature columns, each refitted model in its
library's own format (XGBoost UBJ, CatBoost ``.cbm``, scikit-learn models as skops files loaded
with an explicit type allowlist: nothing in the folder is unpickled), the stacker's weights as
JSON, the package versions of the training run, the distilled static embedding model when the
settings use it, and ``manifest.json`` with every file's SHA-256. :func:`load_pipeline` refuses a
folder that is incomplete, altered, written by an incompatible prefeat, or whose embedding model
is not on this machine.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from prefeat.data.text import answer_texts
from prefeat.features.families import embedding
from prefeat.features.featurizer import ArenaFeaturizer
from prefeat.features.settings import FeaturizerSettings
from prefeat.metrics import PROBA_FLOOR
from prefeat.models import PreferenceModel, Stacker
from prefeat.pipeline.manifest import package_versions, write_manifest
from prefeat.threads import limited_threads

LEARNED = "featurizer.npz"
SUBMISSION_COLUMNS = ("winner_model_a", "winner_model_b", "winner_tie")


def submission_frame(ids, proba: np.ndarray) -> pd.DataFrame:
    """Kaggle's submission: one row per id, probabilities strictly inside (0, 1), rows summing to 1."""
    proba = np.clip(np.asarray(proba, dtype=float), PROBA_FLOOR, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return pd.DataFrame({"id": list(ids), **dict(zip(SUBMISSION_COLUMNS, proba.T, strict=True))})


class PreferencePipeline:
    """Featurizer settings, fitted models and the stacker: battles in, the three probabilities out.

    ``learned`` is what the featurizer's families learned from the training texts
    (``ArenaFeaturizer.learned_``). ``cache_dir``, ``show_progress`` and ``n_jobs`` are how this
    machine computes the features and predictions (``n_jobs``: cores, None for the current
    :func:`prefeat.threads.limited_threads` count, else all of them); they change no value.
    """

    def __init__(
        self,
        settings: FeaturizerSettings,
        models: dict[str, PreferenceModel],
        stacker: Stacker,
        cache_dir=None,
        show_progress: bool = True,
        n_jobs: int | None = None,
        learned: dict | None = None,
    ):
        self.settings = settings
        self.models = models
        self.stacker = stacker
        self.cache_dir = cache_dir
        self.show_progress = show_progress
        self.n_jobs = n_jobs
        self.learned = learned or {}

    def features(self, battles: pd.DataFrame) -> pd.DataFrame:
        """The feature table of ``battles``, indexed by ``id``."""
        featurizer = ArenaFeaturizer.from_settings(
            self.settings, cache_dir=self.cache_dir, show_progress=self.show_progress, n_jobs=self.n_jobs
        )
        featurizer = featurizer.with_learned(self.learned).set_output(transform="pandas")
        return featurizer.transform(battles).set_axis(battles["id"].to_numpy())

    def inputs(self, battles: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """What the models read, by kind: ``features`` (the feature table) and ``texts`` (the answers)."""
        reads = {model.reads for model in self.models.values()}
        inputs = {"features": self.features(battles)} if "features" in reads else {}
        return inputs | ({"texts": answer_texts(battles)} if "texts" in reads else {})

    def model_probas(self, battles: pd.DataFrame) -> dict[str, np.ndarray]:
        """Each model's probabilities (rows, 3) of ``battles``; each model gets what it reads."""
        with limited_threads(self.n_jobs):  # models whose n_jobs is None (loaded ones) use this count
            inputs = self.inputs(battles)
            return {name: model.predict_proba(inputs[model.reads]) for name, model in self.models.items()}

    def predict_battles(self, battles: pd.DataFrame) -> np.ndarray:
        """The stacked probabilities (rows, 3) of ``battles``."""
        return self.stacker.predict_proba(list(self.model_probas(battles).values()))

    def predict_proba(self, battles: pd.DataFrame) -> pd.DataFrame:
        """``id, winner_model_a, winner_model_b, winner_tie``: one row per battle, in order, ready to submit."""
        return submission_frame(battles["id"], self.predict_battles(battles))

    def save(self, folder) -> Path:
        """Write the pipeline folder (replacing one that is there) and its manifest."""
        folder = Path(folder)
        if folder.exists():
            shutil.rmtree(folder)
        (folder / "models").mkdir(parents=True)
        settings = self.settings.to_dict() | {"fingerprint": self.settings.fingerprint()}
        (folder / "settings.json").write_text(json.dumps(settings, indent=2))
        (folder / "columns.json").write_text(json.dumps(self.settings.columns(), indent=2))
        np.savez(folder / LEARNED, **flatten_learned(self.learned))
        (folder / "versions.json").write_text(json.dumps(package_versions(), indent=2))
        stacker = {
            "models": list(self.models),
            "weights": self.stacker.weights_.tolist(),
            "tie_intercept": self.stacker.tie_intercept_,
            "temperature": self.stacker.temperature_,
            "shrinkage": self.stacker.shrinkage,
        }  # read back by prefeat.pipeline.load.load_pipeline
        (folder / "stacker.json").write_text(json.dumps(stacker, indent=2))
        for model in self.models.values():
            model.save(folder / "models")
        if "embedding" in self.settings.families and self.settings.embedding_model == embedding.STATIC_MODEL:
            shutil.copytree(embedding.distilled_static_path(self.cache_dir), folder / "embedding")
        write_manifest(folder, list(self.models))
        return folder


def flatten_learned(learned: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {f"{family}.{name}": array for family, arrays in learned.items() for name, array in arrays.items()}
