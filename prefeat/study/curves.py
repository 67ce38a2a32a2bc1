"""Learning curves (out-of-fold loss on fewer training rows) and what the fits of a model should take."""

from __future__ import annotations

import numpy as np

from prefeat.metrics import scores
from prefeat.study.oof import cross_validate
from prefeat.study.plan import CVPlan

LEARNING_FRACTIONS = (0.25, 0.5)  # 1.0 is the cross-validation itself


def fits_seconds(seconds_per_fold: float | None, tuned_share: float, n_splits: int, tunings: int) -> float | None:
    """What the out-of-fold fits, the refit and the learning curve should take, from the tuning trials'
    seconds per fold on ``tuned_share`` of the rows (fit time taken as growing with the rows): the folds once
    per tuning's parameters, a refit on n/(n-1) of a fold fit's rows, and, with two tunings (the halves),
    the learning curve's folds on each of LEARNING_FRACTIONS."""
    if seconds_per_fold is None:
        return None
    curve = n_splits * sum(LEARNING_FRACTIONS) if tunings == 2 else 0
    fold_fits = n_splits * tunings + n_splits / (n_splits - 1) + curve
    return seconds_per_fold / tuned_share * fold_fits


def learning_curve(name: str, params, plan: CVPlan, scored, show_progress: bool = False) -> dict[float, float]:
    """Out-of-fold log loss of the ``scored`` rows when each training fold keeps only a fraction of its rows."""
    n_rows = len(plan.y)
    keep_order = np.random.default_rng(plan.seed).permutation(n_rows)
    curve = {}
    for fraction in LEARNING_FRACTIONS:
        kept = np.zeros(n_rows, dtype=bool)
        kept[keep_order[: round(fraction * n_rows)]] = True
        oof = cross_validate(name, params, plan, train_mask=kept, score_mask=scored, show_progress=show_progress).oof
        curve[fraction] = scores(plan.y[scored], oof[scored])["log_loss"]
    return curve
