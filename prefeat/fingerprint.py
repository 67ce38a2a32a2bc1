"""Fingerprints of code and package versions: what cache keys and saved pipelines record, so that
an edit or an upgrade never serves a stale result."""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version


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
