"""The estimator behind every prefeat model: P(A), P(B), P(tie), symmetric in A and B.

A model can learn every battle twice, once with A and B exchanged (labels flipped), and
predict by averaging both orders, so that P(A wins | A, B) equals P(B wins | B, A) by
construction. Early stopping uses an inner split of the training rows, grouped by prompt when
groups are given, never the rows being scored; a battle and its swapped copy stay on one side.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GroupShuffleSplit
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from prefeat.data.text import ANSWER_COLUMNS
from prefeat.features.columns import SIDE_ROLES, swap_feature_frame
from prefeat.threads import limited_threads, resolve_n_jobs

CLASSES = ("a", "b", "tie")
CLASS_INDICES = np.arange(len(CLASSES))  # what ``classes_`` holds: 0 (A wins), 1 (B wins), 2 (tie)
# the only types a saved scikit-learn model may hold beyond what skops trusts by default
TRUSTED_SKOPS_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
SWAP_LABEL = np.array([1, 0, 2])
SWAP_PROBA_COLUMNS = [1, 0, 2]


def as_frame(X, columns=None) -> pd.DataFrame:
    """A finite float feature frame; plain arrays get ``x0, x1, ...`` names, which no A/B swap touches.

    Arrays go through scikit-learn's ``check_array``, so empty, sparse, complex, NaN or 1-d input
    gets its standard error.
    """
    if isinstance(X, pd.DataFrame):
        check_array(X, dtype=np.float64)
        return X.set_axis([str(column) for column in X.columns], axis=1)
    array = check_array(X, dtype=np.float64)
    return pd.DataFrame(array, columns=columns if columns is not None else [f"x{i}" for i in range(array.shape[1])])


def check_labels(y) -> np.ndarray:
    """Labels as integers 0 (A), 1 (B), 2 (tie); all three outcomes must occur."""
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    outcomes = set(np.unique(y).tolist())
    if not outcomes <= {0, 1, 2} or 2 not in outcomes or not outcomes & {0, 1}:
        raise ValueError(
            "labels must be the classes 0 (A wins), 1 (B wins) and 2 (tie), with ties and wins among them, to "
            f"learn P(A), P(B), P(tie); got the classes {sorted(outcomes, key=str)[:5]}"
        )
    return y.astype(int)


def check_swappable(X: pd.DataFrame) -> None:
    """Refuse a table whose columns an A/B swap cannot tell apart: no ``__a``/``__b`` pair and no difference.

    Swapping such a table leaves it unchanged, so learning both orders would add every battle again with
    its label flipped and teach the model P(A) = P(B), silently.
    """
    if not any(str(column).rpartition("__")[2] in SIDE_ROLES for column in X.columns):
        raise ValueError(
            "a symmetric model learns each battle with answers A and B swapped, which it does from prefeat's column "
            "names (family__metric__a/b/diff/normdiff); these columns have none (e.g. "
            f"{[str(c) for c in X.columns[:3]]}), so the swap would change nothing and the model would learn "
            "P(A) = P(B). Pass a DataFrame with prefeat's column names "
            '(ArenaFeaturizer(...).set_output(transform="pandas"), or set_output(transform="pandas") on a '
            "scikit-learn Pipeline that holds it), or symmetric=False"
        )


def check_texts(X, reader: str) -> pd.DataFrame:
    """``X`` if it holds the answers' texts (a DataFrame with both answer columns), else a ValueError that
    says what ``reader`` (the model reading them) needs and how to make it."""
    if not isinstance(X, pd.DataFrame) or any(column not in X.columns for column in ANSWER_COLUMNS):
        raise ValueError(
            f"{reader} reads the answers' texts: a DataFrame with the columns {list(ANSWER_COLUMNS)} "
            "(prefeat.data.text.answer_texts(battles) makes one)"
        )
    return X


def capped_rows(n_rows: int, max_rows: int | None, seed: int) -> np.ndarray:
    """The rows a fit keeps: all of them, or a seeded sample of ``max_rows`` (in order) when there are more."""
    if max_rows is None or n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, max_rows, replace=False))


def augment_with_swaps(X: pd.DataFrame, y: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Every battle twice: as given, and with A and B exchanged and the label flipped."""
    return pd.concat([X, swap_feature_frame(X)], ignore_index=True), np.concatenate([y, SWAP_LABEL[y]])


class PreferenceModel(ClassifierMixin, BaseEstimator):
    """Base class: subclasses set ``name``, their parameters and ``_fit_booster``.

    ``n_jobs`` is the threads that fitting and predicting use (None: the current
    :func:`prefeat.threads.limited_threads` count, else every core); on 1 and 2 threads every model gives
    the same numbers bit for bit (tests/test_threads.py), and a saved model does not keep it.
    """

    name = "base"
    reads = "features"  # the feature table; the lexical model reads "texts", the answers themselves
    stops_early = True  # boosters hold out an inner split for early stopping
    booster_suffix = ".skops"  # the saved booster's format: the library's own where it has one

    def __init__(
        self, params=None, symmetric=True, early_stopping_rounds=50, inner_fraction=0.15, random_state=0, n_jobs=None
    ):
        self.params = params
        self.symmetric = symmetric
        self.early_stopping_rounds = early_stopping_rounds
        self.inner_fraction = inner_fraction
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y, groups=None):
        """Fit on a feature table and labels 0/1/2.

        A symmetric model (the default) needs a DataFrame with prefeat's column names, from which it swaps A
        and B; with ``symmetric=False`` any 2-d array works.
        """
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.array(X.columns, dtype=object)
        X = as_frame(X)
        y = check_labels(y)
        if self.symmetric:
            check_swappable(X)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        X_train, y_train, X_val, y_val = X.reset_index(drop=True), y, None, None
        if self.stops_early:
            groups = np.arange(len(y)) if groups is None else np.asarray(groups)
            splitter = GroupShuffleSplit(n_splits=1, test_size=self.inner_fraction, random_state=self.random_state)
            inner_train, inner_val = next(splitter.split(X, y, groups))
            X_train, y_train = X.iloc[inner_train].reset_index(drop=True), y[inner_train]
            X_val, y_val = X.iloc[inner_val].reset_index(drop=True), y[inner_val]
        if self.symmetric:
            X_train, y_train = augment_with_swaps(X_train, y_train)
            if self.stops_early:
                X_val, y_val = augment_with_swaps(X_val, y_val)
        self._set_columns(list(X.columns))
        with limited_threads(self.n_jobs):  # OpenMP and BLAS pools (HistGradientBoosting, logistic regression)
            self.booster_ = self._fit_booster(X_train, y_train, X_val, y_val)
        return self

    def _threads(self) -> int:
        """The threads this model's library gets: ``n_jobs`` resolved on this machine."""
        return resolve_n_jobs(self.n_jobs)

    def _set_columns(self, columns: list[str]) -> None:
        """What ``fit`` (or loading a saved model) learns besides the booster: the input columns and classes."""
        self.columns_ = columns
        self.n_features_in_ = len(columns)
        self.classes_ = CLASS_INDICES

    def predict_proba(self, X) -> np.ndarray:
        """P(A wins), P(B wins), P(tie) per row, each row summing to 1."""
        check_is_fitted(self, "booster_")
        if isinstance(X, pd.DataFrame):
            X = as_frame(X)
            missing = [column for column in self.columns_ if column not in X.columns]
            if missing:
                raise ValueError(f"{self.name}: the features lack {len(missing)} fitted columns, e.g. {missing[:3]}")
            X = X[self.columns_]
        else:
            n_features = check_array(X, dtype=np.float64).shape[1]
            if n_features != self.n_features_in_:
                raise ValueError(
                    f"X has {n_features} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                    "features as input."
                )
            X = as_frame(X, self.columns_)
        with limited_threads(self.n_jobs):
            proba = self._raw_proba(X)
            if self.symmetric:
                proba = (proba + self._raw_proba(swap_feature_frame(X))[:, SWAP_PROBA_COLUMNS]) / 2
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The most likely outcome: 0 (A wins), 1 (B wins) or 2 (tie)."""
        return np.argmax(self.predict_proba(X), axis=1)

    def _raw_proba(self, X) -> np.ndarray:
        return np.asarray(self.booster_.predict_proba(X), dtype=np.float64)

    def save(self, folder) -> list[Path]:
        """Write ``<name>.json`` (settings, columns) and the booster in its library's format; return both paths."""
        check_is_fitted(self, "booster_")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        booster_path = folder / f"{self.name}{self.booster_suffix}"
        self._save_booster(booster_path)
        meta = {
            "model": self.name,
            "init": self.get_params(),
            "columns": self.columns_,
            "named_features": hasattr(self, "feature_names_in_"),
        }
        meta_path = folder / f"{self.name}.json"
        meta_path.write_text(json.dumps(meta, indent=2))
        return [meta_path, booster_path]

    def _save_booster(self, path: Path) -> None:
        import skops.io

        skops.io.dump(self.booster_, path)

    def _load_booster(self, path: Path):
        import skops.io

        untrusted = skops.io.get_untrusted_types(file=path)
        unexpected = sorted(set(untrusted) - set(TRUSTED_SKOPS_TYPES))
        if unexpected:
            raise ValueError(f"{path}: refusing to load types that a prefeat model never holds: {unexpected}")
        return skops.io.load(path, trusted=untrusted)

    def _all_params(self) -> dict:
        return {**self.default_params(), **(self.params or {})}

    @staticmethod
    def default_params() -> dict:
        return {}

    @staticmethod
    def search_space(trial) -> dict:
        raise NotImplementedError
