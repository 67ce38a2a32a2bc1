"""Out-of-fold fits and refits on disk, keyed by everything they depend on, so that a rerun reads them back.

A key hashes the model's name and parameters, the cross-validation plan (its table's content, labels,
folds, groups, seed and symmetry), a fingerprint of all of prefeat's source (the models, the column swap,
the out-of-fold loop, anything a fit may run) and the versions of the libraries that fit it. Any change
to those is a new key, so a stale fit is never served; an edit anywhere in prefeat refits. An entry
holds the out-of-fold probabilities, the fold losses and timings as first measured, and the refitted
model in its saved form (exact round trip).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from prefeat.fingerprint import package_version, source_fingerprint
from prefeat.models import PreferenceModel, load_model
from prefeat.paths import make_once
from prefeat.study.oof import CVResult
from prefeat.study.plan import CVPlan, TuningSplit

MODEL_PACKAGES = ("scikit-learn", "xgboost", "xgboost-cpu", "catboost", "numpy", "scipy")


def code_fingerprint() -> list:
    """prefeat's source and the versions of the libraries that fit the models: what a fit's code is."""
    return [source_fingerprint(), {package: package_version(package) for package in MODEL_PACKAGES}]


def fit_key(name: str, params, plan: CVPlan, split: TuningSplit | None = None) -> str:
    """``params``: one parameter set, or one per part of ``split`` (the rows each part's parameters score)."""
    digest = hashlib.blake2b(digest_size=12)
    code = code_fingerprint()
    digest.update(json.dumps([name, params, code], sort_keys=True, default=str).encode())
    digest.update(plan.digest() + (b"" if split is None else split.digest()))
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
            oof = stored["oof"]
        cv = CVResult(oof=oof, fold_losses=meta["fold_losses"], fit_seconds=meta["fit_seconds"])
        return cv, load_model(entry / "model", name), meta["refit_seconds"]

    def save(self, key: str, cv: CVResult, model: PreferenceModel, refit_seconds: float) -> None:
        if self.folder is None:
            return

        def write(entry: Path) -> None:
            np.savez(entry / "proba.npz", oof=cv.oof)
            meta = {"fold_losses": cv.fold_losses, "fit_seconds": cv.fit_seconds, "refit_seconds": refit_seconds}
            (entry / "meta.json").write_text(json.dumps(meta))
            model.save(entry / "model")
            (entry / "done").touch()  # written last: an interrupted save is never read back

        # written under a temporary name and renamed, so that a run saving the same key at the same time
        # neither fails nor removes an entry another run is reading; the same key is the same fit
        make_once(self.folder / key, write, complete=lambda entry: (entry / "done").exists())
