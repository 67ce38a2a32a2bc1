"""The cross-validation plan: one object for what tuning, out-of-fold fits, learning curves and the fit
cache all run on, instead of six values relayed by hand."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from prefeat.data.digest import table_digest


@dataclass(frozen=True, eq=False)
class CVPlan:
    """A model's input table (features or answer texts, indexed by ``id``), the labels, each row's fold and
    prompt group, the seed of every fit, and whether models learn and predict both answer orders."""

    X: pd.DataFrame
    y: np.ndarray
    folds: np.ndarray
    groups: np.ndarray
    seed: int = 0
    symmetric: bool = True

    def subset(self, rows: np.ndarray) -> CVPlan:
        """The plan on some rows only (a boolean mask); each row keeps its fold and group."""
        subset = {"X": self.X[rows], "y": self.y[rows], "folds": self.folds[rows], "groups": self.groups[rows]}
        return dataclasses.replace(self, **subset)

    def digest(self) -> bytes:
        """A content hash of everything a fit on this plan depends on besides the model and its parameters."""
        parts = [json.dumps([self.seed, self.symmetric]).encode(), table_digest(self.X)]
        parts += [np.ascontiguousarray(array).tobytes() for array in (self.y, self.folds, self.groups)]
        return b"".join(parts)


def grouped_subsample(groups: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """A mask of whole prompt groups, drawn at random, holding about ``limit`` battles (all when fewer).

    Whole groups keep the folds grouped; each row keeps its fold, so a trial scores the same
    5-fold scheme on fewer rows.
    """
    if limit is None or len(groups) <= limit:
        return np.ones(len(groups), dtype=bool)
    order = np.random.default_rng(seed).permutation(np.unique(groups))
    sizes = pd.Series(groups).value_counts().reindex(order).to_numpy()
    kept = order[: int(np.searchsorted(np.cumsum(sizes), limit)) + 1]
    return np.isin(groups, kept)
