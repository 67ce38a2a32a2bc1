"""Where prefeat keeps what it computes once: ``$PREFEAT_CACHE``, else ``~/.cache/prefeat``."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    return Path(os.environ.get("PREFEAT_CACHE", Path.home() / ".cache" / "prefeat"))


def cache_root(cache_dir):
    """The cache folder a ``cache_dir`` option names: None is the default folder, False no cache."""
    return None if cache_dir is False else (cache_dir or default_cache_dir())
