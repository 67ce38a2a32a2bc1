"""On-disk cache of per-side values, keyed by the content hash of each side.

One folder per family cache key (its name and the fingerprint of its code, parameters and
packages); each computed batch is one ``.npz`` shard holding the hashes and their rows, so
concurrent runs never rewrite each other's files.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np


class SideCache:
    def __init__(self, root, key: str):
        self.folder = Path(root) / key
        self._rows: dict[str, np.ndarray] = {}
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        for shard in sorted(self.folder.glob("[!.]*.npz")):  # not a temporary shard (a write in progress, or cut short)
            with np.load(shard, allow_pickle=False) as stored:
                self._rows.update(zip(stored["hashes"].tolist(), stored["values"], strict=True))
        self._loaded = True

    def missing(self, hashes) -> list[str]:
        self._load()
        return [h for h in hashes if h not in self._rows]

    def get(self, hashes) -> np.ndarray:
        self._load()
        return np.stack([self._rows[h] for h in hashes]) if hashes else np.empty((0, 0))

    def put(self, hashes: list[str], values: np.ndarray) -> None:
        self._rows.update(zip(hashes, values, strict=True))
        if not hashes:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.blake2b("".join(hashes).encode(), digest_size=12).hexdigest()
        temporary = self.folder / f".{name}.{os.getpid()}.tmp.npz"
        np.savez(temporary, hashes=np.array(hashes), values=values)
        temporary.replace(self.folder / f"{name}.npz")
