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

from prefeat.metrics import log_loss

EPSILON = 1e-6
TIE = 2
SHRINKAGE = 250.0


def log_probas(probas: list[np.ndarray]) -> np.ndarray:
    """The models' log-probabilities stacked as (rows, 3 classes, models)."""
    return np.stack([np.log(np.clip(p, EPSILON, 1.0)) for p in probas], axis=2)


def softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


def pooled_scores(log_p: np.ndarray, weights: np.ndarray, tie_intercept: float) -> np.ndarray:
    scores = log_p @ weights
    scores[:, TIE] += tie_intercept
    return scores


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    return softmax(np.log(np.clip(proba, EPSILON, 1.0)) / temperature)


def fit_temperature(y, proba) -> float:
    """The temperature that minimises log loss of ``proba`` (1 leaves it unchanged)."""
    fitted = minimize_scalar(lambda t: log_loss(y, apply_temperature(proba, t)), bounds=(0.25, 4.0), method="bounded")
    return float(fitted.x)


class Stacker(ClassifierMixin, BaseEstimator):
    """Conditional-logit stack of model probabilities; ``shrinkage`` pulls the weights towards equal."""

    def __init__(self, shrinkage=SHRINKAGE, temperature=False):
        self.shrinkage = shrinkage
        self.temperature = temperature

    def fit(self, probas: list[np.ndarray], y):
        y = np.asarray(y, dtype=int)
        log_p = log_probas(probas)
        n_models = log_p.shape[2]
        rows = np.arange(len(y))

        def penalised_loss(theta):
            proba = softmax(pooled_scores(log_p, theta[:n_models], theta[n_models]))
            penalty = self.shrinkage * np.sum((theta[:n_models] - 1 / n_models) ** 2)
            return (-np.sum(np.log(proba[rows, y])) + penalty) / len(y)

        start = np.append(np.full(n_models, 1 / n_models), 0.0)
        theta = minimize(penalised_loss, start, method="L-BFGS-B").x
        self.classes_ = np.arange(3)
        self.weights_, self.tie_intercept_ = theta[:n_models], float(theta[n_models])
        self.temperature_ = 1.0
        if self.temperature:
            self.temperature_ = fit_temperature(y, self.predict_proba(probas))
        return self

    def predict_proba(self, probas: list[np.ndarray]) -> np.ndarray:
        scores = pooled_scores(log_probas(probas), self.weights_, self.tie_intercept_)
        return softmax(scores / self.temperature_)


def average(probas: list[np.ndarray]) -> np.ndarray:
    """The plain average of the models' probabilities."""
    return np.mean(probas, axis=0)


def stack_out_of_fold(
    probas: list[np.ndarray], y, folds, shrinkage: float = SHRINKAGE, temperature: bool = False
) -> np.ndarray:
    """Honest stack predictions: each fold's rows are predicted by a stacker fitted on the other folds."""
    y = np.asarray(y, dtype=int)
    out = np.zeros((len(y), 3))
    for fold in np.unique(folds):
        scored = folds == fold
        stacker = Stacker(shrinkage=shrinkage, temperature=temperature).fit([p[~scored] for p in probas], y[~scored])
        out[scored] = stacker.predict_proba([p[scored] for p in probas])
    return out
