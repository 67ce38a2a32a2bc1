"""The stacker: a multinomial logistic regression on the base models' out-of-fold log-probabilities.

It is the conditional-logit form of that regression: class k gets the score
``sum_m w_m * log p_m(k)`` plus an intercept for the tie, so each model has one weight shared by
the three classes. That is M + 1 parameters for M models instead of 3 (3M + 1), which matters
with 1,000 rows (the unconstrained form scored worse than the plain average here), and it is
symmetric in A and B by construction. A penalty pulls the weights towards 1/M, i.e. towards the
geometric mean of the models, with a fixed strength (``shrinkage``) against the summed log loss,
so it fades as rows grow. On 1,000 rows the weights learnt on four folds carry over badly when the
models' quality varies between folds (PandaLM: the stack with the mean-loss penalty of 0.01 lost
to the plain average by 0.006); shrinkage 250 (about 0.3 per row at 800 rows) beat the average
and every single model on both shared sets, and it was chosen on them (BENCHMARKS.md). The
stacker reads only the saved out-of-fold predictions; its own score comes from cross-validation
over the same folds. Optional temperature scaling is fitted the same way, out of fold.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_array, check_is_fitted

from prefeat.metrics import PROBA_FLOOR, log_loss
from prefeat.models.base import CLASS_INDICES, check_labels

TIE = 2
SHRINKAGE = 250.0


def as_model_probas(X) -> list[np.ndarray]:
    """The models' probabilities: a list of (rows, 3) arrays, or one (rows, 3 x models) table."""
    if isinstance(X, list | tuple):
        probas = [check_array(p, dtype=np.float64) for p in X]
    else:
        table = check_array(X, dtype=np.float64)
        if table.shape[1] % 3:
            raise ValueError(f"expected (rows, 3 x models) probabilities, got shape {table.shape}")
        probas = [table[:, start : start + 3] for start in range(0, table.shape[1], 3)]
    if not probas or any(p.shape[1] != 3 or len(p) != len(probas[0]) for p in probas):
        raise ValueError("expected one (rows, 3) array of P(A), P(B), P(tie) per model, all with the same rows")
    return probas


def log_probas(probas: list[np.ndarray]) -> np.ndarray:
    """The models' log-probabilities stacked as (rows, 3 classes, models)."""
    return np.stack([np.log(np.clip(p, PROBA_FLOOR, 1.0)) for p in probas], axis=2)


def softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


def pooled_scores(log_p: np.ndarray, weights: np.ndarray, tie_intercept: float) -> np.ndarray:
    scores = log_p @ weights
    scores[:, TIE] += tie_intercept
    return scores


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    return softmax(np.log(np.clip(proba, PROBA_FLOOR, 1.0)) / temperature)


def fit_temperature(y, proba) -> float:
    """The temperature that minimises log loss of ``proba`` (1 leaves it unchanged)."""
    fitted = minimize_scalar(lambda t: log_loss(y, apply_temperature(proba, t)), bounds=(0.25, 4.0), method="bounded")
    return float(fitted.x)


class Stacker(ClassifierMixin, BaseEstimator):
    """Conditional-logit stack of model probabilities; ``shrinkage`` pulls the weights towards equal."""

    def __init__(self, shrinkage=SHRINKAGE, temperature=False):
        self.shrinkage = shrinkage
        self.temperature = temperature

    def fit(self, probas, y):
        """``probas``: each model's out-of-fold (rows, 3) probabilities, as a list or side by side in one table."""
        probas = as_model_probas(probas)
        y = check_labels(y)
        if len(y) != len(probas[0]):
            raise ValueError(f"{len(probas[0])} rows of probabilities but {len(y)} labels")
        log_p = log_probas(probas)
        n_models = log_p.shape[2]
        rows = np.arange(len(y))

        def penalised_loss(theta):
            proba = softmax(pooled_scores(log_p, theta[:n_models], theta[n_models]))
            penalty = self.shrinkage * np.sum((theta[:n_models] - 1 / n_models) ** 2)
            return (-np.sum(np.log(proba[rows, y])) + penalty) / len(y)

        start = np.append(np.full(n_models, 1 / n_models), 0.0)
        theta = minimize(penalised_loss, start, method="L-BFGS-B").x
        self._set_fitted(theta[:n_models], float(theta[n_models]), 1.0)
        if self.temperature:
            self.temperature_ = fit_temperature(y, self.predict_proba(probas))
        return self

    @classmethod
    def from_fitted(cls, weights, tie_intercept: float, temperature: float, shrinkage: float = SHRINKAGE) -> Stacker:
        """A stacker with the weights an earlier ``fit`` learned (a saved pipeline's), ready to predict."""
        stacker = cls(shrinkage=shrinkage, temperature=temperature != 1.0)
        stacker._set_fitted(np.asarray(weights, dtype=float), float(tie_intercept), float(temperature))
        return stacker

    def _set_fitted(self, weights: np.ndarray, tie_intercept: float, temperature: float) -> None:
        self.classes_ = CLASS_INDICES
        self.n_features_in_ = 3 * len(weights)
        self.weights_, self.tie_intercept_, self.temperature_ = weights, tie_intercept, temperature

    def predict_proba(self, probas) -> np.ndarray:
        check_is_fitted(self, "weights_")
        probas = as_model_probas(probas)
        if 3 * len(probas) != self.n_features_in_:
            raise ValueError(f"the stacker was fitted on {self.n_features_in_ // 3} models, got {len(probas)}")
        scores = pooled_scores(log_probas(probas), self.weights_, self.tie_intercept_)
        return softmax(scores / self.temperature_)

    def predict(self, probas) -> np.ndarray:
        """The most likely outcome: 0 (A wins), 1 (B wins) or 2 (tie)."""
        return np.argmax(self.predict_proba(probas), axis=1)


def average(probas: list[np.ndarray]) -> np.ndarray:
    """The plain average of the models' probabilities."""
    return np.mean(probas, axis=0)


def stack_out_of_fold(
    probas: list[np.ndarray], y, folds, shrinkage: float = SHRINKAGE, temperature: bool = False
) -> np.ndarray:
    """Honest stack predictions: each fold's rows are predicted by a stacker fitted on the other folds."""
    probas, y = as_model_probas(probas), check_labels(y)
    out = np.zeros((len(y), 3))
    for fold in np.unique(folds):
        scored = folds == fold
        stacker = Stacker(shrinkage=shrinkage, temperature=temperature).fit([p[~scored] for p in probas], y[~scored])
        out[scored] = stacker.predict_proba([p[scored] for p in probas])
    return out
