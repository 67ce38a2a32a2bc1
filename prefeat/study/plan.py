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


def shuffled_groups(groups: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct prompt groups in a seeded random order, and the battles of each."""
    order = np.random.default_rng(seed).permutation(np.unique(groups))
    return order, pd.Series(groups).value_counts().reindex(order).to_numpy()


def grouped_subsample(groups: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """A mask of whole prompt groups, drawn at random, holding about ``limit`` battles (all when fewer).

    Whole groups keep the folds grouped; each row keeps its fold, so a trial scores the same
    5-fold scheme on fewer rows.
    """
    if limit is None or len(groups) <= limit:
        return np.ones(len(groups), dtype=bool)
    order, sizes = shuffled_groups(groups, seed)
    kept = order[: int(np.searchsorted(np.cumsum(sizes), limit)) + 1]
    return np.isin(groups, kept)


@dataclass(frozen=True, eq=False)
class TuningSplit:
    """Which rows tune a model's hyperparameters, and which rows those parameters then score.

    ``tune[i]`` and ``score[i]`` are boolean masks over the training battles, disjoint and made of whole
    prompt groups: the parameters tuned on ``tune[i]`` predict, out of fold, only the rows of
    ``score[i]``, so no scored row's label chose the parameters that score it.
    """

    tune: tuple[np.ndarray, ...]
    score: tuple[np.ndarray, ...]

    @property
    def scored(self) -> np.ndarray:
        """The rows that get an honest out-of-fold prediction."""
        return np.logical_or.reduce(self.score)

    @property
    def crossed(self) -> bool:
        """Two halves that tune for each other, so every row is scored."""
        return len(self.tune) == 2

    def digest(self) -> bytes:
        return b"".join(np.packbits(mask).tobytes() for mask in (*self.tune, *self.score))

    def describe(self) -> str:
        """One sentence for the report: how the scored rows chose nothing."""
        if self.crossed:
            return (
                "each model's hyperparameters were tuned on one half of the prompts and score only the other "
                "half (two halves, each tuned on its own, so every battle is scored)"
            )
        return (
            f"each model's hyperparameters were tuned on a grouped subsample of {int(self.tune[0].sum())} "
            f"battles, which the scores leave out; the other {int(self.scored.sum())} battles are scored"
        )


def balanced_halves(groups: np.ndarray, seed: int) -> np.ndarray:
    """A mask of whole prompt groups holding about half the battles: groups in a seeded random order, each
    to the half that has fewer battles so far (the halves differ by at most the largest group)."""
    order, sizes = shuffled_groups(groups, seed)
    first, rows = [], [0, 0]
    for group, size in zip(order.tolist(), sizes.tolist(), strict=True):
        side = int(rows[1] < rows[0])
        rows[side] += size
        if side == 0:
            first.append(group)
    return np.isin(groups, first)


def tuning_split(groups: np.ndarray, tune_rows: int | None, seed: int) -> TuningSplit:
    """Two halves of the prompts that tune for each other, or, when the battles are more than twice
    ``tune_rows``, one grouped subsample of about ``tune_rows`` battles that tunes and is not scored
    (``tune_rows`` None: always the halves)."""
    if tune_rows is None or len(groups) <= 2 * tune_rows:
        half = balanced_halves(groups, seed)
        return TuningSplit(tune=(half, ~half), score=(~half, half))
    subsample = grouped_subsample(groups, tune_rows, seed)
    return TuningSplit(tune=(subsample,), score=(~subsample,))
