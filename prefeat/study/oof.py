"""Out-of-fold predictions keyed by ``id``: what each model writes and the stacker reads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from prefeat.metrics import log_loss
from prefeat.models import make_model
from prefeat.study.plan import CVPlan

PROBA_COLUMNS = ("p_a", "p_b", "p_tie")


@dataclass
class CVResult:
    """Out-of-fold probabilities (rows in input order), per-fold log loss and fit time."""

    oof: np.ndarray
    fold_losses: list[float] = field(default_factory=list)
    fit_seconds: float = 0.0


def cross_validate(
    name: str,
    params: dict | None,
    plan: CVPlan,
    on_fold=None,
    train_mask: np.ndarray | None = None,
    score_mask: np.ndarray | None = None,
    show_progress: bool = False,
) -> CVResult:
    """Fit one model per fold of ``plan`` and predict the held-out fold with it.

    ``on_fold(fold_index, running_mean_loss)`` is called after each fold (Optuna pruning hooks in here).
    ``train_mask`` keeps only those rows for training (learning curves); ``score_mask`` predicts only those
    held-out rows (the others stay NaN; a fold without any is skipped). ``show_progress`` shows a bar over
    the folds, with the time left.
    """
    X, y, folds, groups = plan.X, np.asarray(plan.y, dtype=int), plan.folds, plan.groups
    result = CVResult(oof=np.full((len(y), 3), np.nan))
    predicted = np.ones(len(y), dtype=bool) if score_mask is None else score_mask
    scored_folds = sorted(np.unique(folds[predicted]))
    for fold in tqdm(scored_folds, desc=f"{name} folds", unit="fold", disable=not show_progress):
        held_out = folds == fold
        scored = held_out & predicted
        train = ~held_out if train_mask is None else ~held_out & train_mask
        model = make_model(name, params, symmetric=plan.symmetric, random_state=plan.seed)
        started = time.perf_counter()
        model.fit(X[train], y[train], groups=groups[train])
        result.fit_seconds += time.perf_counter() - started
        result.oof[scored] = model.predict_proba(X[scored])
        result.fold_losses.append(log_loss(y[scored], result.oof[scored]))
        if on_fold is not None:
            on_fold(int(fold), float(np.mean(result.fold_losses)))
    return result


def proba_frame(ids, proba: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": np.asarray(ids, dtype=str), **dict(zip(PROBA_COLUMNS, np.asarray(proba).T, strict=True))}
    )


def write_predictions(path, ids, proba: np.ndarray) -> Path:
    """Probabilities keyed by ``id``, columns ``id, p_a, p_b, p_tie``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    proba_frame(ids, proba).to_parquet(path, index=False)
    return path


def read_predictions(path, ids=None) -> np.ndarray:
    """Probabilities from :func:`write_predictions`, in the order of ``ids`` when given."""
    frame = pd.read_parquet(path)
    if ids is not None:
        frame = frame.set_index("id").loc[np.asarray(ids, dtype=str)].reset_index()
    return frame[list(PROBA_COLUMNS)].to_numpy()
