"""The three gradient-boosted models: XGBoost, CatBoost and scikit-learn's HistGradientBoosting.

Each is a :class:`~prefeat.models.base.PreferenceModel` (P(A), P(B), P(tie), symmetric in A and B)
reading the feature table, with its hand-set defaults, its Optuna search space and its library's
own file format.
"""

from __future__ import annotations

import numpy as np

from prefeat.models.base import PreferenceModel


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
        # every key the search space draws (trial 0 of a study is exactly these), at XGBoost's own defaults
        # beyond the five hand-set ones; reg_alpha and gamma are 0 there, which a log scale cannot hold: 1e-8
        # gives probabilities within 1e-7 of 0's (50 trees on the fixture battles); the space's floor is 1e-8 now
        return {
            "n_estimators": 1000,
            "learning_rate": 0.05,
            "max_depth": 4,
            "min_child_weight": 1.0,
            "subsample": 0.8,
            "colsample_bytree": 0.7,
            "reg_lambda": 1.0,
            "reg_alpha": 1e-8,
            "gamma": 1e-8,
        }

    @staticmethod
    def search_space(trial):
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            "max_depth": trial.suggest_int("max_depth", 2, 8),
            "min_child_weight": trial.suggest_float("min_child_weight", 1.0, 100.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 100.0, log=True),
            "reg_alpha": trial.suggest_float("reg_alpha", 1e-8, 10.0, log=True),
            "gamma": trial.suggest_float("gamma", 1e-8, 5.0, log=True),
        }

    def _fit_booster(self, X_train, y_train, X_val, y_val):
        from xgboost import XGBClassifier

        booster = XGBClassifier(
            objective="multi:softprob",
            eval_metric="mlogloss",
            tree_method="hist",
            early_stopping_rounds=self.early_stopping_rounds,
            random_state=self.random_state,
            n_jobs=self._threads(),
            **self._all_params(),
        )
        return booster.fit(X_train, y_train, eval_set=[(X_val, y_val)], verbose=False)

    def _raw_proba(self, X):
        self.booster_.set_params(n_jobs=self._threads())  # a loaded booster has no count: this machine's
        return super()._raw_proba(X)


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
        # every key the search space draws, at CatBoost's own defaults beyond the three hand-set ones
        return {
            "iterations": 1000,
            "learning_rate": 0.05,
            "depth": 5,
            "l2_leaf_reg": 3.0,
            "random_strength": 1.0,
            "bagging_temperature": 1.0,
            "min_data_in_leaf": 1,
        }

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
            thread_count=self._threads(),
            verbose=False,
            allow_writing_files=False,
            **self._all_params(),
        )
        return booster.fit(X_train, y_train, eval_set=(X_val, y_val))

    def _raw_proba(self, X):
        return np.asarray(self.booster_.predict_proba(X, thread_count=self._threads()), dtype=np.float64)


class HGBModel(PreferenceModel):
    name = "hgb"

    @staticmethod
    def default_params():
        # every key the search space draws, at scikit-learn's defaults beyond the three hand-set ones, except:
        # max_depth 14 for its None, the same trees (15 leaves never make a tree deeper than 14), inside a
        # search space widened from 2-10 to 2-14 to hold it; l2_regularization 1e-8 for its 0, which a log
        # scale cannot hold (probabilities within 2e-5 of 0's on the fixture battles), the space's floor now
        return {
            "max_iter": 1000,
            "learning_rate": 0.05,
            "max_leaf_nodes": 15,
            "max_depth": 14,
            "min_samples_leaf": 20,
            "l2_regularization": 1e-8,
            "max_features": 1.0,
        }

    @staticmethod
    def search_space(trial):
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 4, 63, log=True),
            "max_depth": trial.suggest_int("max_depth", 2, 14),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, 200, log=True),
            "l2_regularization": trial.suggest_float("l2_regularization", 1e-8, 100.0, log=True),
            "max_features": trial.suggest_float("max_features", 0.3, 1.0),
        }

    def _fit_booster(self, X_train, y_train, X_val, y_val):
        from sklearn.ensemble import HistGradientBoostingClassifier

        params = self._all_params()
        booster = HistGradientBoostingClassifier(
            early_stopping=True, n_iter_no_change=self.early_stopping_rounds, random_state=self.random_state, **params
        ).fit(X_train, y_train, X_val=X_val, y_val=y_val)
        # HGB stops after the patience window but keeps those extra trees; XGBoost and CatBoost
        # predict with their best iteration. scikit-learn has no public way to drop trees: its
        # iterations are ``_predictors`` (``n_iter_`` counts them, SHAP reads them), so keep the best
        # ones, as a refit up to them would, at no cost (index 0 of the scores is no tree).
        booster._predictors = booster._predictors[: max(int(np.argmax(booster.validation_score_)), 1)]
        return booster
