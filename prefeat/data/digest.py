"""Content digests: of files (the data a run read, a pipeline's manifest) and of tables (cache and study keys)."""

from __future__ import annotations

import hashlib
import json

import pandas as pd


def file_digest(path, algorithm: str = "blake2b", digest_size: int | None = 16) -> str:
    """Hex digest of a file's bytes, read in 1 MiB chunks (blake2b-128 for data files; sha256 for manifests)."""
    digest = hashlib.new(algorithm, digest_size=digest_size) if digest_size else hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def table_digest(table: pd.DataFrame | None) -> bytes:
    """Content hash of a feature or text table, its column names included; empty for None."""
    if table is None:
        return b""
    rows = pd.util.hash_pandas_object(table, index=False).to_numpy()
    return hashlib.blake2b(json.dumps(list(map(str, table.columns))).encode() + rows.tobytes()).digest()
