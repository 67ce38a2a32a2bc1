"""Fetch the public copy of the competition's training data when it is missing."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

HUB_DATASET = "lmsys/lmsys-arena-human-preference-55k"
HUB_TRAIN_URL = f"https://huggingface.co/datasets/{HUB_DATASET}/resolve/main/train.csv"
KAGGLE_COMMAND = "kaggle competitions download -c llm-classification-finetuning"


class DataUnavailableError(RuntimeError):
    """The training data is neither on disk nor reachable."""


def fetch_train(target, url: str = HUB_TRAIN_URL, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``target`` with a progress bar; the file appears only once complete."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    print(f"{target} is missing: fetching the public copy ({HUB_DATASET}, Apache-2.0) from {url}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=size, unit="B", unit_scale=True, desc=target.name) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise DataUnavailableError(
            f"cannot fetch {url} ({getattr(error, 'reason', error)}): download train.csv from the Hugging Face "
            f"dataset {HUB_DATASET}, or run `{KAGGLE_COMMAND}`, into {target.parent}/"
        ) from None
    shutil.move(partial, target)
    return target


def ensure_train(path, url: str = HUB_TRAIN_URL) -> Path:
    """``path`` if it exists, else the fetched public copy at that path."""
    path = Path(path)
    return path if path.exists() else fetch_train(path, url)
