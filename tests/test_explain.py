import numpy as np
import pytest

from prefeat.features.columns import comparison_columns
from prefeat.models import make_model
from prefeat.study.explain import explain_model, explained_columns, family_table, importance_table, shap_values

FAST = {"xgboost": {"n_estimators": 40, "learning_rate": 0.2}, "linear": {"C": 0.1}}


def margins(model, X):
    """The booster's raw per-class scores (log-odds) on the given A/B order."""
    if model.name == "linear":
        return model.booster_.decision_function(X)
    return model.booster_.predict(X, output_margin=True)


@pytest.mark.parametrize("name", list(FAST))
def test_shap_values_add_up_to_the_model_scores(dataset, name):
    _, X, y = dataset
    model = make_model(name, FAST[name]).fit(X, y)
    values, base = shap_values(model, X.iloc[:30])
    assert values.shape == (30, len(explained_columns(model)), 3)
    np.testing.assert_allclose(values.sum(axis=1) + base, margins(model, X.iloc[:30]), atol=1e-4)


def test_linear_model_explains_only_the_bounded_columns(dataset):
    _, X, y = dataset
    model = make_model("linear", FAST["linear"]).fit(X, y)
    assert explained_columns(model) == comparison_columns(X.columns)
    assert len(explained_columns(model)) < X.shape[1]


def test_importances_rank_features_and_sum_by_family():
    values = np.zeros((4, 3, 3))
    values[:, 0, 0] = [1.0, -1.0, 2.0, -2.0]  # |mean| 1.5 on P(A)
    values[:, 2, 1] = 0.5
    table = importance_table(values, ["length__chars__diff", "refusal__flag__a", "length__words__normdiff"])
    assert table.index.tolist()[0] == "length__chars__diff"
    assert table.loc["length__chars__diff", "total"] == pytest.approx(1.5)
    assert family_table(table).loc["length", "total"] == pytest.approx(2.0)


def test_explain_model_writes_tables_and_plots(dataset, tmp_path):
    _, X, y = dataset
    model = make_model("linear", FAST["linear"]).fit(X, y)
    importance, families, files = explain_model(model, X, X.index, tmp_path, max_rows=50, n_battles=2)
    assert set(importance.index) == set(comparison_columns(X.columns))
    assert set(families.index) <= {"length", "formatting", "refusal", "content"}
    assert len(files) == 5 and all(f.exists() and f.stat().st_size > 0 for f in files)
