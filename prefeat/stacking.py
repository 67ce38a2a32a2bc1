"""The stacker: a multinomial logistic regression on the base models' out-of-fold log-probabilities.

It reads only the saved out-of-fold predictions. Like the base models it learns each battle in
both orders and averages both orders at prediction, so it keeps the A/B symmetry. Its own score
comes from cross-validation over the same folds (each fold's stack is fitted on the others).
Optional temperature scaling is fitted the same way, out of fold.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from prefeat.metrics import log_loss
from prefeat.models import SWAP_LABEL, SWAP_PROBA_COLUMNS

EPSILON = 1e-6


def stack_inputs(probas: list[np.ndarray]) -> np.ndarray:
    """Log-probabilities of every model side by side: (n, 3 * n_models)."""
    return np.hstack([np.log(np.clip(p, EPSILON, 1.0)) for p in probas])


def swap_stack_inputs(Z: np.ndarray) -> np.ndarray:
    """The inputs of the same battles with A and B exchanged, model by model."""
    columns = np.concatenate([SWAP_PROBA_COLUMNS + np.int64(3 * m) for m in range(Z.shape[1] // 3)])
    return Z[:, columns]


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    logits = np.log(np.clip(proba, EPSILON, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def fit_temperature(y, proba) -> float:
    """The temperature that minimises log loss of ``proba`` (1 leaves it unchanged)."""
    fitted = minimize_scalar(lambda t: log_loss(y, apply_temperature(proba, t)), bounds=(0.25, 4.0), method="bounded")
    return float(fitted.x)


class Stacker(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression on stacked log-probabilities, symmetric in A and B."""

    def __init__(self, C=1.0, temperature=False):
        self.C = C
        self.temperature = temperature

    def fit(self, probas: list[np.ndarray], y):
        y = np.asarray(y, dtype=int)
        Z = stack_inputs(probas)
        self.classes_ = np.arange(3)
        self.model_ = LogisticRegression(C=self.C, max_iter=2000).fit(
            np.vstack([Z, swap_stack_inputs(Z)]), np.concatenate([y, SWAP_LABEL[y]])
        )
        self.temperature_ = fit_temperature(y, self._blend(Z)) if self.temperature else 1.0
        return self

    def _blend(self, Z: np.ndarray) -> np.ndarray:
        direct = self.model_.predict_proba(Z)
        swapped = self.model_.predict_proba(swap_stack_inputs(Z))[:, SWAP_PROBA_COLUMNS]
        return (direct + swapped) / 2

    def predict_proba(self, probas: list[np.ndarray]) -> np.ndarray:
        return apply_temperature(self._blend(stack_inputs(probas)), self.temperature_)


def average(probas: list[np.ndarray]) -> np.ndarray:
    """The plain average of the models' probabilities."""
    return np.mean(probas, axis=0)


def stack_out_of_fold(probas: list[np.ndarray], y, folds, C: float = 1.0, temperature: bool = False) -> np.ndarray:
    """Honest stack predictions: each fold's rows are predicted by a stacker fitted on the other folds."""
    y = np.asarray(y, dtype=int)
    out = np.zeros((len(y), 3))
    for fold in np.unique(folds):
        scored = folds == fold
        stacker = Stacker(C=C, temperature=temperature).fit([p[~scored] for p in probas], y[~scored])
        out[scored] = stacker.predict_proba([p[scored] for p in probas])
    return out
