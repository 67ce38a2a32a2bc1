"""Bradley-Terry strengths of the models from the battles' votes, with ties as half a win, fitted
symmetrically in A and B, and refitted on bootstrap resamples (see :mod:`prefeat.ratings` for the model)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

ELO_SCALE = 400.0 / math.log(10.0)  # logit units -> Elo points
ELO_BASE = 1000.0
MODEL_COLUMNS = ("model_a", "model_b")
WEAK_C = 1e6


def battle_outcomes(battles: pd.DataFrame) -> pd.DataFrame:
    """The battles that say something about ratings: ``model_a``, ``model_b`` and ``score`` (A's score:
    1 for a win, 0 for a loss, 0.5 for a tie), indexed like ``battles``.

    Raises ValueError when the model columns or ``label`` are missing, or a label is not 0, 1 or 2.
    Battles without a label, without a model name or of a model against itself are left out.
    """
    missing = [column for column in (*MODEL_COLUMNS, "label") if column not in battles.columns]
    if missing:
        raise ValueError(
            f"a leaderboard needs the battles to name their models and outcome: missing the columns {missing} "
            f"(it uses {[*MODEL_COLUMNS, 'label']})"
        )
    labels = pd.to_numeric(battles["label"], errors="coerce")
    known = labels.notna() & battles["model_a"].notna() & battles["model_b"].notna()
    bad = sorted(set(labels[known].unique()) - {0, 1, 2})
    if bad:
        raise ValueError(f"labels must be 0 (A wins), 1 (B wins) or 2 (tie); found {bad}")
    kept = known & (battles["model_a"].astype(str) != battles["model_b"].astype(str))
    labels = labels[kept].astype(int)
    return pd.DataFrame(
        {
            "model_a": battles.loc[kept, "model_a"].astype(str),
            "model_b": battles.loc[kept, "model_b"].astype(str),
            "score": labels.map({0: 1.0, 1: 0.0, 2: 0.5}).astype(float),
        },
        index=battles.index[kept],
    )


def model_names(outcomes: pd.DataFrame) -> list[str]:
    """The models of the battles, sorted; ValueError with fewer than two."""
    models = sorted(set(outcomes["model_a"]) | set(outcomes["model_b"]))
    if len(models) < 2:
        raise ValueError(
            f"a leaderboard needs battles between at least two different models; found {models or 'none'} "
            "(battles of a model against itself and battles without a label are left out)"
        )
    return models


def design_matrix(battles: pd.DataFrame, models: Sequence[str]) -> np.ndarray:
    """One row per battle, one column per model: +1 for ``model_a``, -1 for ``model_b``."""
    position = {name: i for i, name in enumerate(models)}
    unknown = sorted((set(battles["model_a"]) | set(battles["model_b"])) - set(position))
    if unknown:
        raise ValueError(f"models {unknown} are not in the model list")
    rows = np.arange(len(battles))
    X = np.zeros((len(battles), len(models)))
    X[rows, battles["model_a"].map(position).to_numpy(dtype=int)] += 1.0
    X[rows, battles["model_b"].map(position).to_numpy(dtype=int)] -= 1.0
    return X


def expand_rows(X: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The logistic-regression rows of the battles, each in one canonical orientation, merged.

    A battle and its mirror (A and B exchanged: the row negated, the outcome flipped) add the same term to
    the likelihood, so each battle enters once, oriented so that its first nonzero column is positive:
    swapping A and B in any battle then gives the very same rows, and the same ratings to the last bit.
    Battle ``i`` gives ``(s X_i, A wins)`` with weight ``score_i`` and ``(s X_i, B wins)`` with weight
    ``1 - score_i`` (outcomes exchanged where ``s = -1``); identical rows are merged. Returns (unique rows,
    their outcomes, the map from each battle's two rows to a unique row as a ``(2, n_battles)`` array, and
    each battle's two base weights) so a bootstrap reweights by battle.
    """
    n = len(X)
    first_nonzero = np.take_along_axis(X, (X != 0).argmax(axis=1)[:, None], axis=1)[:, 0]
    flip = first_nonzero < 0
    oriented = np.where(flip[:, None], -X, X) + 0.0  # adding 0.0 turns every -0.0 into 0.0, so they merge
    wins = np.where(flip, 0.0, 1.0)  # the outcome "A wins" of the oriented row
    rows = np.vstack([oriented, oriented])
    outcome = np.concatenate([wins, 1.0 - wins])
    base = np.concatenate([score, 1.0 - score])
    table = np.ascontiguousarray(np.column_stack([rows, outcome]))
    keys = table.view(np.dtype((np.void, table.dtype.itemsize * table.shape[1]))).ravel()  # one key per row
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    unique = table[first]
    return unique[:, :-1], unique[:, -1], inverse.reshape(2, n), base.reshape(2, n)


def fit_coefficients(
    rows: np.ndarray,
    outcome: np.ndarray,
    weight: np.ndarray,
    C: float = WEAK_C,
    start: np.ndarray | None = None,
    tol: float = 1e-10,
) -> np.ndarray:
    """The logistic regression's coefficients (no intercept) for weighted rows; zero-weight rows are ignored.

    The objective is scikit-learn's: ``C`` times the summed weighted log-loss plus ``|beta|^2 / 2``. Newton's
    method with a Cholesky solve suits these problems (many rows, a few dozen columns): on the 1,000 Kaggle
    battles it converges in 13 steps where L-BFGS took over 1,000 and stopped 1e-3 short. ``start``: the
    coefficients to start from (a bootstrap resample starts from the fit on all battles, a few steps away)."""
    used = weight > 0
    rows, outcome, weight = rows[used], outcome[used], weight[used]
    if np.unique(outcome).size < 2:  # one outcome only (one model won every battle): add the mirrored rows,
        rows, outcome, weight = mirrored(rows, outcome, weight)  # the same likelihood, both classes
    model = LogisticRegression(
        C=C, fit_intercept=False, tol=tol, max_iter=1_000, solver="newton-cholesky", warm_start=start is not None
    )
    if start is not None:
        model.coef_ = np.asarray(start, dtype=float).reshape(1, -1).copy()
    # these problems are small (rows merged; columns = models + covariates): BLAS threads only cost time
    with threadpool_limits(limits=1, user_api="blas"):
        model.fit(rows, outcome.astype(int), sample_weight=weight)
    return model.coef_[0].copy()


def mirrored(rows: np.ndarray, outcome: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, ...]:
    """The rows and their mirrors (negated, outcome flipped), each at half weight: the same likelihood."""
    return np.vstack([rows, -rows]), np.concatenate([outcome, 1.0 - outcome]), np.concatenate([weight, weight]) / 2


def elo_ratings(beta: np.ndarray, models: Sequence[str], anchor: str | None = None) -> np.ndarray:
    """Model strengths on the logit scale as Elo ratings: mean 1000, or ``anchor`` at 1000."""
    ratings = ELO_SCALE * np.asarray(beta, dtype=float)
    if anchor is None:
        return ratings - ratings.mean(axis=-1, keepdims=True) + ELO_BASE
    if anchor not in models:
        raise ValueError(f"the anchor {anchor!r} is not one of the models {list(models)}")
    position = list(models).index(anchor)
    return ratings - ratings[..., position : position + 1] + ELO_BASE


def fit_ratings(
    X: np.ndarray,
    score: np.ndarray,
    models: Sequence[str],
    covariates: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    anchor: str | None = None,
    C: float = WEAK_C,
) -> tuple[np.ndarray, np.ndarray]:
    """Elo ratings of ``models`` and the covariates' logit coefficients from one fit.

    ``X`` is :func:`design_matrix`'s, ``score`` A's score per battle (1, 0 or 0.5 for a tie),
    ``covariates`` extra columns (style), ``weight`` a weight per battle (a bootstrap's counts)."""
    full = X if covariates is None else np.hstack([X, covariates])
    rows, outcome, inverse, base = expand_rows(full, np.asarray(score, dtype=float))
    ratings, coefficients, _ = _fit_expanded(rows, outcome, inverse, base, weight, len(models), list(models), anchor, C)
    return ratings, coefficients


def _fit_expanded(rows, outcome, inverse, base, weight, n_models, models, anchor, C, start=None):
    """(Elo ratings, covariate coefficients, every logit coefficient) of one fit of the expanded rows."""
    per_row = base if weight is None else base * weight
    merged = np.bincount(inverse.ravel(), weights=per_row.ravel(), minlength=len(rows))
    beta = fit_coefficients(rows, outcome, merged, C=C, start=start)
    return elo_ratings(beta[:n_models], models, anchor), beta[n_models:], beta


def bootstrap(
    X: np.ndarray,
    score: np.ndarray,
    models: Sequence[str],
    covariates: np.ndarray | None = None,
    n_bootstrap: int = 100,
    seed: int | np.random.Generator | None = 0,
    anchor: str | None = None,
    C: float = WEAK_C,
) -> tuple[np.ndarray, np.ndarray]:
    """Ratings and covariate coefficients refitted on ``n_bootstrap`` resamples of the battles.

    Returns arrays of shape ``(n_bootstrap, n_models)`` and ``(n_bootstrap, n_covariates)``. Resamples are
    multinomial counts (battles drawn with replacement) from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    full = X if covariates is None else np.hstack([X, covariates])
    rows, outcome, inverse, base = expand_rows(full, np.asarray(score, dtype=float))
    n = len(X)
    n_cov = full.shape[1] - len(models)
    ratings = np.empty((n_bootstrap, len(models)))
    coefficients = np.empty((n_bootstrap, n_cov))
    if n_bootstrap == 0:
        return ratings, coefficients
    *_, on_all = _fit_expanded(rows, outcome, inverse, base, None, len(models), list(models), anchor, C)
    for b in range(n_bootstrap):
        counts = rng.multinomial(n, np.full(n, 1.0 / n)).astype(float)
        ratings[b], coefficients[b], _ = _fit_expanded(
            rows, outcome, inverse, base, counts, len(models), list(models), anchor, C, start=on_all
        )
    return ratings, coefficients


def percentiles(samples: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    if not 0 < interval < 1:
        raise ValueError(f"interval must be between 0 and 1, got {interval}")
    if len(samples) == 0:
        nan = np.full(samples.shape[1], np.nan)
        return nan, nan.copy()
    tail = 50.0 * (1.0 - interval)
    return np.percentile(samples, tail, axis=0), np.percentile(samples, 100.0 - tail, axis=0)
