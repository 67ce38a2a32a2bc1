"""The linear partner of the boosters: a regularised logistic regression on the bounded A-vs-B columns."""

from __future__ import annotations

from prefeat.features.columns import COMPARISON_ROLES, comparison_columns
from prefeat.models.base import PreferenceModel


class LinearModel(PreferenceModel):
    """A strongly regularised multinomial logistic regression on the bounded comparison columns.

    On a table without prefeat's column names (a plain array, ``symmetric=False`` only) it uses every column.

    Not a booster but the stack's partner: it sees only the standardised ``normdiff`` and ``pair``
    columns, so its errors differ from the trees', whose out-of-fold predictions are so alike
    that their stack alone did not beat CatBoost on the 1,000 Kaggle rows (BENCHMARKS.md).
    Swap training ties its A and B coefficients together. Nothing stops early, so it trains on
    every row it is given.
    """

    name = "linear"
    stops_early = False
    roles = COMPARISON_ROLES  # the column roles it reads from a prefeat table

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
        columns = comparison_columns(X_train.columns, roles=self.roles) if prefeat_table else list(X_train.columns)
        if not columns:
            raise ValueError("the linear model needs normdiff or pair feature columns; the features have none")
        scale = ColumnTransformer([("bounded", StandardScaler(), columns)], verbose_feature_names_out=False)
        classifier = LogisticRegression(max_iter=5000, C=self._all_params()["C"])
        return Pipeline([("scale", scale), ("classifier", classifier)]).fit(X_train, y_train)
