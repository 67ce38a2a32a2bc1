"""Fingerprints of code and package versions: what cache keys and saved pipelines record, so that
an edit or an upgrade never serves a stale result."""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def fingerprint(modules, params: dict | None = None, packages: Sequence[str] = ()) -> str:
    """A short hash of the modules' source code (and the text helpers every family uses), the
    parameters and the packages' versions."""
    from prefeat.data import text

    digest = hashlib.blake2b(digest_size=8)
    for module in (*modules, text):
        digest.update(inspect.getsource(module).encode())
    digest.update(json.dumps(params or {}, sort_keys=True).encode())
    digest.update(json.dumps({name: package_version(name) for name in packages}).encode())
    return digest.hexdigest()


PACKAGE_ROOT = Path(__file__).resolve().parent


def source_fingerprint() -> str:
    """A short hash of every ``.py`` file of prefeat (paths and contents), so that any edit to code that may
    shape a fit or a trial (a model, the column swap, the folds, the out-of-fold loop) changes it.

    Computed once per process for each package folder (``PACKAGE_ROOT``, which a test may point elsewhere).
    """
    return _folder_fingerprint(PACKAGE_ROOT)


@functools.lru_cache(maxsize=8)
def _folder_fingerprint(root: Path) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if "__pycache__" in relative:
            continue
        digest.update(relative.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
