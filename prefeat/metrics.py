"""Scores for three-class probabilities (A, B, tie): log loss, accuracy, Brier, calibration."""

from __future__ import annotations

import numpy as np

KAGGLE_CLIP = 1e-15  # how Kaggle clips before its log loss
PROBA_FLOOR = 1e-6  # the least probability prefeat predicts or takes the log of (stacker, submission)


def log_loss(y, proba) -> float:
    """Multi-class log loss as Kaggle scores it (rows renormalised, probabilities clipped)."""
    proba = np.clip(np.asarray(proba, dtype=float), KAGGLE_CLIP, 1 - KAGGLE_CLIP)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(proba[np.arange(len(proba)), np.asarray(y, dtype=int)])))


def accuracy(y, proba) -> float:
    return float(np.mean(np.argmax(proba, axis=1) == np.asarray(y, dtype=int)))


def brier(y, proba) -> float:
    """Mean over rows of the squared distance to the one-hot label (0 best, 2 worst)."""
    one_hot = np.eye(np.shape(proba)[1])[np.asarray(y, dtype=int)]
    return float(np.mean(np.sum((np.asarray(proba) - one_hot) ** 2, axis=1)))


def reliability(y, proba, n_bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-label confidence bins: mean confidence, accuracy and row count per non-empty bin."""
    confidence = np.max(proba, axis=1)
    correct = np.argmax(proba, axis=1) == np.asarray(y, dtype=int)
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    used = np.unique(bins)
    return (
        np.array([confidence[bins == b].mean() for b in used]),
        np.array([correct[bins == b].mean() for b in used]),
        np.array([(bins == b).sum() for b in used]),
    )


def expected_calibration_error(y, proba, n_bins: int = 10) -> float:
    """Top-label ECE: the count-weighted gap between confidence and accuracy."""
    confidence, hit_rate, counts = reliability(y, proba, n_bins)
    return float(np.sum(counts * np.abs(confidence - hit_rate)) / np.sum(counts))


def scores(y, proba) -> dict[str, float]:
    return {
        "log_loss": log_loss(y, proba),
        "accuracy": accuracy(y, proba),
        "brier": brier(y, proba),
        "ece": expected_calibration_error(y, proba),
    }
