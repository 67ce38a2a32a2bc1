"""One validation scheme for every model and the stacker: folds grouped by the normalised prompt."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from prefeat.text import join_turns

_SPACE = re.compile(r"\s+")


def normalise_prompt(turns) -> str:
    """Lowercase, whitespace collapsed: prompts that differ only in case or spacing share a group."""
    return _SPACE.sub(" ", join_turns(turns)).strip().lower()


def prompt_groups(battles: pd.DataFrame) -> np.ndarray:
    """An integer group per battle; battles with the same normalised prompt share one."""
    codes, _ = pd.factorize(battles["prompt"].map(normalise_prompt))
    return codes


def assign_folds(battles: pd.DataFrame, n_splits: int = 5, seed: int = 0, groups=None) -> pd.DataFrame:
    """``id``, ``group`` and ``fold`` (0..n_splits-1) for labelled battles, stratified by label.

    ``groups`` defaults to the normalised prompt; pass another grouping (MT-Bench's question,
    whose second-turn rows carry a longer prompt) to keep related battles in one fold.
    """
    groups = prompt_groups(battles) if groups is None else pd.factorize(np.asarray(groups))[0]
    labels = battles["label"].to_numpy(dtype=int)
    folds = np.full(len(battles), -1)
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for fold, (_, scored) in enumerate(splitter.split(np.zeros(len(labels)), labels, groups)):
        folds[scored] = fold
    return pd.DataFrame({"id": battles["id"].to_numpy(), "group": groups, "fold": folds})
