"""Three gradient-boosted models and a linear partner behind one interface: P(A), P(B), P(tie).

Each model can learn every battle twice, once with A and B exchanged (labels flipped), and
predicts by averaging both orders, so that P(A wins | A, B) equals P(B wins | B, A) by
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

from prefeat.registry import comparison_columns, swap_feature_frame

CLASSES = ("a", "b", "tie")
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


def augment_with_swaps(X: pd.DataFrame, y: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Every battle twice: as given, and with A and B exchanged and the label flipped."""
    return pd.concat([X, swap_feature_frame(X)], ignore_index=True), np.concatenate([y, SWAP_LABEL[y]])


class PreferenceModel(ClassifierMixin, BaseEstimator):
    """Base class: subclasses set ``name``, their parameters and ``_fit_booster``."""

    name = "base"
    stops_early = True  # boosters hold out an inner split for early stopping
    booster_suffix = ".skops"  # the saved booster's format: the library's own where it has one

    def __init__(self, params=None, symmetric=True, early_stopping_rounds=50, inner_fraction=0.15, random_state=0):
        self.params = params
        self.symmetric = symmetric
        self.early_stopping_rounds = early_stopping_rounds
        self.inner_fraction = inner_fraction
        self.random_state = random_state

    def fit(self, X, y, groups=None):
        """Fit on a feature table (a DataFrame with prefeat's column names, or any 2-d array) and labels 0/1/2."""
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.array(X.columns, dtype=object)
        X = as_frame(X)
        y = check_labels(y)
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
        self.columns_ = list(X.columns)
        self.n_features_in_ = len(self.columns_)
        self.classes_ = np.arange(len(CLASSES))
        self.booster_ = self._fit_booster(X_train, y_train, X_val, y_val)
        return self

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


class XGBoostModel(PreferenceModel):
    name = "xgboost"
    booster_suffix = ".ubj"

    def _save_booster(self, path):
        self.booster_.save_model(path)

    def _load_booster(self, path):
        from xgboost import XGBClassifier

        booster = XGBClassifier()
        booster.load_model(path)
        return booster

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
    booster_suffix = ".cbm"

    def _save_booster(self, path):
        self.booster_.save_model(str(path))

    def _load_booster(self, path):
        from catboost import CatBoostClassifier

        return CatBoostClassifier().load_model(str(path))

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

    On a table without prefeat's column names (a plain array) it uses every column.

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

        prefeat_table = any("__" in column for column in X_train.columns)
        columns = comparison_columns(X_train.columns) if prefeat_table else list(X_train.columns)
        if not columns:
            raise ValueError("the linear model needs normdiff or pair feature columns; the features have none")
        scale = ColumnTransformer([("bounded", StandardScaler(), columns)], verbose_feature_names_out=False)
        classifier = LogisticRegression(max_iter=5000, **self._all_params())
        return Pipeline([("scale", scale), ("classifier", classifier)]).fit(X_train, y_train)


BOOSTERS = (XGBoostModel, CatBoostModel, HGBModel)
# the linear model first: it tunes in seconds and leaves its share of a joint budget to the boosters
MODELS: dict[str, type[PreferenceModel]] = {cls.name: cls for cls in (LinearModel, *BOOSTERS)}


def load_model(folder, name: str) -> PreferenceModel:
    """A model written by :meth:`PreferenceModel.save`, ready to predict."""
    folder = Path(folder)
    meta = json.loads((folder / f"{name}.json").read_text())
    model = make_model(meta["model"], **{k: v for k, v in meta["init"].items()})
    model.booster_ = model._load_booster(folder / f"{model.name}{model.booster_suffix}")
    model.columns_ = list(meta["columns"])
    model.n_features_in_ = len(model.columns_)
    model.classes_ = np.arange(len(CLASSES))
    if meta["named_features"]:
        model.feature_names_in_ = np.array(model.columns_, dtype=object)
    return model


def make_model(name: str, params: dict | None = None, **kwargs) -> PreferenceModel:
    if name not in MODELS:
        raise ValueError(f"unknown model '{name}'; known: {list(MODELS)}")
    return MODELS[name](params=params, **kwargs)
