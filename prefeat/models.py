"""Three gradient-boosted models and a linear partner behind one interface: P(A), P(B), P(tie).

Each model can learn every battle twice, once with A and B exchanged (labels flipped), and
predicts by averaging both orders, so that P(A wins | A, B) equals P(B wins | B, A) by
construction. Early stopping uses an inner split of the training rows, grouped by prompt when
groups are given, never the rows being scored; a battle and its swapped copy stay on one side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GroupShuffleSplit

from prefeat.registry import comparison_columns, swap_feature_frame

CLASSES = ("a", "b", "tie")
SWAP_LABEL = np.array([1, 0, 2])
SWAP_PROBA_COLUMNS = [1, 0, 2]


def augment_with_swaps(X: pd.DataFrame, y: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Every battle twice: as given, and with A and B exchanged and the label flipped."""
    return pd.concat([X, swap_feature_frame(X)], ignore_index=True), np.concatenate([y, SWAP_LABEL[y]])


class PreferenceModel(ClassifierMixin, BaseEstimator):
    """Base class: subclasses set ``name``, their parameters and ``_fit_booster``."""

    name = "base"
    stops_early = True  # boosters hold out an inner split for early stopping

    def __init__(self, params=None, symmetric=True, early_stopping_rounds=50, inner_fraction=0.15, random_state=0):
        self.params = params
        self.symmetric = symmetric
        self.early_stopping_rounds = early_stopping_rounds
        self.inner_fraction = inner_fraction
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y, groups=None):
        y = np.asarray(y, dtype=int)
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
        self.feature_names_in_ = np.array(X.columns, dtype=object)
        self.classes_ = np.arange(len(CLASSES))
        self.booster_ = self._fit_booster(X_train, y_train, X_val, y_val)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        X = X[list(self.feature_names_in_)]
        proba = self._raw_proba(X)
        if self.symmetric:
            proba = (proba + self._raw_proba(swap_feature_frame(X))[:, SWAP_PROBA_COLUMNS]) / 2
        return proba / proba.sum(axis=1, keepdims=True)

    def _raw_proba(self, X) -> np.ndarray:
        return np.asarray(self.booster_.predict_proba(X), dtype=np.float64)

    def _all_params(self) -> dict:
        return {**self.default_params(), **(self.params or {})}

    @staticmethod
    def default_params() -> dict:
        return {}

    @staticmethod
    def search_space(trial) -> dict:
        raise NotImplementedError


class XGBoostModel(PreferenceModel):
    name = "xgboost"

    @staticmethod
    def default_params():
        return {"n_estimators": 1000, "learning_rate": 0.05, "max_depth": 4, "subsample": 0.8, "colsample_bytree": 0.7}

    @staticmethod
    def search_space(trial):
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            "max_depth": trial.suggest_int("max_depth", 2, 8),
            "min_child_weight": trial.suggest_float("min_child_weight", 1.0, 100.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 100.0, log=True),
            "reg_alpha": trial.suggest_float("reg_alpha", 1e-3, 10.0, log=True),
            "gamma": trial.suggest_float("gamma", 1e-3, 5.0, log=True),
        }

    def _fit_booster(self, X_train, y_train, X_val, y_val):
        from xgboost import XGBClassifier

        booster = XGBClassifier(
            objective="multi:softprob",
            eval_metric="mlogloss",
            tree_method="hist",
            early_stopping_rounds=self.early_stopping_rounds,
            random_state=self.random_state,
            n_jobs=2,
            **self._all_params(),
        )
        return booster.fit(X_train, y_train, eval_set=[(X_val, y_val)], verbose=False)


class CatBoostModel(PreferenceModel):
    name = "catboost"

    @staticmethod
    def default_params():
        return {"iterations": 1000, "learning_rate": 0.05, "depth": 5}

    @staticmethod
    def search_space(trial):
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            "depth": trial.suggest_int("depth", 2, 8),
            "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 0.5, 100.0, log=True),
            "random_strength": trial.suggest_float("random_strength", 0.1, 10.0, log=True),
            "bagging_temperature": trial.suggest_float("bagging_temperature", 0.0, 5.0),
            "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 1, 100, log=True),
        }

    def _fit_booster(self, X_train, y_train, X_val, y_val):
        from catboost import CatBoostClassifier

        booster = CatBoostClassifier(
            loss_function="MultiClass",
            random_seed=self.random_state,
            early_stopping_rounds=self.early_stopping_rounds,
            use_best_model=True,
            thread_count=2,
            verbose=False,
            allow_writing_files=False,
            **self._all_params(),
        )
        return booster.fit(X_train, y_train, eval_set=(X_val, y_val))


class HGBModel(PreferenceModel):
    name = "hgb"

    @staticmethod
    def default_params():
        return {"max_iter": 1000, "learning_rate": 0.05, "max_leaf_nodes": 15}

    @staticmethod
    def search_space(trial):
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 4, 63, log=True),
            "max_depth": trial.suggest_int("max_depth", 2, 10),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, 200, log=True),
            "l2_regularization": trial.suggest_float("l2_regularization", 1e-3, 100.0, log=True),
            "max_features": trial.suggest_float("max_features", 0.3, 1.0),
        }

    def _fit_booster(self, X_train, y_train, X_val, y_val):
        from sklearn.ensemble import HistGradientBoostingClassifier

        params = self._all_params()
        booster = HistGradientBoostingClassifier(
            early_stopping=True, n_iter_no_change=self.early_stopping_rounds, random_state=self.random_state, **params
        ).fit(X_train, y_train, X_val=X_val, y_val=y_val)
        # HGB stops after the patience window but keeps those extra trees; XGBoost and CatBoost
        # predict with their best iteration, so refit HGB up to its best one (index 0 is no tree).
        best_iterations = max(int(np.argmax(booster.validation_score_)), 1)
        if best_iterations == booster.n_iter_:
            return booster
        refit = HistGradientBoostingClassifier(
            early_stopping=False, random_state=self.random_state, **(params | {"max_iter": best_iterations})
        )
        return refit.fit(X_train, y_train)


class LinearModel(PreferenceModel):
    """A strongly regularised multinomial logistic regression on the bounded comparison columns.

    Not a booster but the stack's partner: it sees only the standardised ``normdiff`` and ``pair``
    columns, so its errors differ from the trees', whose out-of-fold predictions are so alike
    that their stack alone did not beat CatBoost on the 1,000 Kaggle rows (BENCHMARKS.md).
    Swap training ties its A and B coefficients together. Nothing stops early, so it trains on
    every row it is given.
    """

    name = "linear"
    stops_early = False

    @staticmethod
    def default_params():
        return {"C": 0.01}

    @staticmethod
    def search_space(trial):
        return {"C": trial.suggest_float("C", 1e-4, 10.0, log=True)}

    def _fit_booster(self, X_train, y_train, X_val, y_val):
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        columns = comparison_columns(X_train.columns)
        if not columns:
            raise ValueError("the linear model needs normdiff or pair feature columns; the features have none")
        scale = ColumnTransformer([("bounded", StandardScaler(), columns)], verbose_feature_names_out=False)
        classifier = LogisticRegression(max_iter=5000, **self._all_params())
        return Pipeline([("scale", scale), ("classifier", classifier)]).fit(X_train, y_train)


BOOSTERS = (XGBoostModel, CatBoostModel, HGBModel)
# the linear model first: it tunes in seconds and leaves its share of a joint budget to the boosters
MODELS: dict[str, type[PreferenceModel]] = {cls.name: cls for cls in (LinearModel, *BOOSTERS)}


def make_model(name: str, params: dict | None = None, **kwargs) -> PreferenceModel:
    if name not in MODELS:
        raise ValueError(f"unknown model '{name}'; known: {list(MODELS)}")
    return MODELS[name](params=params, **kwargs)
