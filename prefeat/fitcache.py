"""Out-of-fold fits and refits on disk, keyed by everything they depend on, so that a rerun reads them back.

A key hashes the model's name, parameters, seed and symmetry, the content of its training table
(features or texts), labels, folds and groups, the content of the test table, and a fingerprint of
the model code and of the libraries that fit it. Any change to those is a new key, so a stale fit
is never served. An entry holds the out-of-fold and averaged test probabilities, the fold losses
and timings as first measured, and the refitted model in its saved form (exact round trip).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from prefeat import estimator, lexical, models
from prefeat.firstuse import make_once
from prefeat.io import table_digest
from prefeat.models import PreferenceModel, load_model
from prefeat.oof import CVResult
from prefeat.registry import fingerprint

MODEL_PACKAGES = ("scikit-learn", "xgboost", "xgboost-cpu", "catboost", "numpy", "scipy")


def fit_key(name: str, params, seed: int, symmetric: bool, X, y, folds, groups, X_test=None) -> str:
    digest = hashlib.blake2b(digest_size=12)
    code = fingerprint([estimator, models, lexical], packages=MODEL_PACKAGES)
    digest.update(json.dumps([name, params, seed, symmetric, code], sort_keys=True, default=str).encode())
    digest.update(table_digest(X) + table_digest(X_test))
    for array in (y, folds, groups):
        digest.update(np.ascontiguousarray(array).tobytes())
    return f"{name}-{digest.hexdigest()}"


class FitCache:
    """Entries under ``<root>/fits/<key>/``; ``root`` None turns the cache off."""

    def __init__(self, root):
        self.folder = None if root is None else Path(root) / "fits"

    def load(self, key: str, name: str) -> tuple[CVResult, PreferenceModel, float] | None:
        """The cross-validation, the refitted model and the refit's seconds, or None when not cached."""
        entry = self.folder and self.folder / key
        if entry is None or not (entry / "done").exists():
            return None
        meta = json.loads((entry / "meta.json").read_text())
        with np.load(entry / "proba.npz", allow_pickle=False) as stored:
            oof, test = stored["oof"], stored["test"] if "test" in stored.files else None
        cv = CVResult(oof=oof, fold_losses=meta["fold_losses"], fit_seconds=meta["fit_seconds"], test=test)
        return cv, load_model(entry / "model", name), meta["refit_seconds"]

    def save(self, key: str, cv: CVResult, model: PreferenceModel, refit_seconds: float) -> None:
        if self.folder is None:
            return

        def write(entry: Path) -> None:
            arrays = {"oof": cv.oof} | ({"test": cv.test} if cv.test is not None else {})
            np.savez(entry / "proba.npz", **arrays)
            meta = {"fold_losses": cv.fold_losses, "fit_seconds": cv.fit_seconds, "refit_seconds": refit_seconds}
            (entry / "meta.json").write_text(json.dumps(meta))
            model.save(entry / "model")
            (entry / "done").touch()  # written last: an interrupted save is never read back

        # written under a temporary name and renamed, so that a run saving the same key at the same time
        # neither fails nor removes an entry another run is reading; the same key is the same fit
        make_once(self.folder / key, write, complete=lambda entry: (entry / "done").exists())
