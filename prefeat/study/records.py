"""The records a study hands to the report: what was measured for each model and each explanation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd


@dataclass
class ModelRun:
    """What the study measured for one model."""

    name: str
    params: dict
    oof: np.ndarray
    scores: dict
    fold_losses: list[float]
    tune_seconds: float = 0.0
    n_trials: int = 0
    tuned_minus_default: float | None = None  # best trial's loss minus the default trial's, on the tuning folds
    tune_fold_seconds: float | None = None  # median seconds of one fold fit in the tuning trials
    cv_fit_seconds: float = 0.0
    refit_seconds: float = 0.0
    predict_seconds_per_1000: float = 0.0
    size_bytes: int = 0
    learning_curve: dict = field(default_factory=dict)


class Explanation(NamedTuple):
    """SHAP importances of one model: per feature, per family, and the plots written."""

    importance: pd.DataFrame
    families: pd.DataFrame
    files: list[Path]
