"""scikit-learn's estimator contract on the models, the stacker and the featurizer.

The library's own checks run on every model and on the stacker. The ones listed below do not
apply, for two reasons stated once each:
- a preference model's labels are the three outcomes 0 (A wins), 1 (B wins), 2 (tie), all needed
  to learn P(tie), and its A/B swap maps label 0 to label 1; checks that fit on two classes, four
  classes or string labels feed it another problem;
- the stacker's input is each model's three probabilities side by side, (rows, 3 x models);
  tables of 1, 2, 4, 5 or 10 columns are not that.
The featurizer turns JSON text battles into numbers, and the lexical model reads the answers'
texts, so checks that feed them numeric arrays do not apply at all; they are held to the contract
by the tests at the end of this file and in test_lexical.py.

The library's checks feed plain arrays, whose columns have no A/B roles to swap; a symmetric model
refuses them (test_models.py tests that), so the checks run on ``symmetric=False`` models: the same
estimator without the swap training and the two-order average. The symmetric models are held to
the contract on prefeat's feature tables below.
"""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from prefeat import ArenaFeaturizer
from prefeat.data.text import answer_texts
from prefeat.models import MODELS, XGBoostModel, make_model
from prefeat.models.stacking import Stacker

THREE_OUTCOMES = "labels are the three outcomes A/B/tie, all needed; this check fits on other labels"
PROBABILITY_TRIPLES = "the stacker reads (rows, 3 x models) probabilities; this check feeds another table"
NO_CLASS_ZERO = (
    "XGBoost needs the classes 0..k-1 among its training labels; without the swap training (which turns B wins "
    "into A wins) this check's labels, B wins and ties only, lack class 0"
)
NO_CLASS_ZERO_CHECKS = ("check_estimators_dtypes", "check_classifier_data_not_an_array", "check_fit2d_1feature")
LABEL_CHECKS = (
    "check_classifiers_train",
    "check_estimators_pickle",
    "check_pipeline_consistency",
    "check_n_features_in",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_fit2d_1sample",
    "check_estimators_nan_inf",
    "check_dtype_object",
    "check_classifiers_classes",
)
TABLE_CHECKS = (
    "check_estimators_overwrite_params",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_classifier_data_not_an_array",
    "check_classifiers_regression_target",
    "check_fit2d_1feature",
    "check_requires_y_none",
)
QUICK = {"xgboost": {"n_estimators": 20}, "catboost": {"iterations": 20}, "hgb": {"max_iter": 20}, "linear": None}
FEATURE_MODELS = [name for name, model in MODELS.items() if model.reads == "features"]


def not_applicable(estimator) -> dict[str, str]:
    failing = dict.fromkeys(LABEL_CHECKS, THREE_OUTCOMES)
    if isinstance(estimator, Stacker):
        failing |= dict.fromkeys(TABLE_CHECKS, PROBABILITY_TRIPLES)
    if isinstance(estimator, XGBoostModel) and not estimator.symmetric:
        failing |= dict.fromkeys(NO_CLASS_ZERO_CHECKS, NO_CLASS_ZERO)
    return failing


@parametrize_with_checks(
    [*(make_model(name, QUICK[name], symmetric=False) for name in FEATURE_MODELS), Stacker()],
    expected_failed_checks=not_applicable,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name", list(MODELS))
def test_models_predict_score_and_refuse_before_fit(dataset, name):
    battles, features, y = dataset
    if MODELS[name].reads == "texts":
        features = answer_texts(battles)
    model = make_model(name, QUICK.get(name))
    with pytest.raises(NotFittedError):
        model.predict_proba(features)
    model.fit(features, y)
    if MODELS[name].reads == "features":  # a text model counts the columns it computes or reads, not the frame's
        assert model.n_features_in_ == features.shape[1]
        assert list(model.feature_names_in_) == list(features.columns)
    predicted = model.predict(features)
    assert set(predicted) <= {0, 1, 2}
    np.testing.assert_array_equal(predicted, model.predict_proba(features).argmax(axis=1))
    assert model.score(features, y) == pytest.approx(np.mean(predicted == y))


def test_stacker_predicts_scores_and_refuses_before_fit(dataset):
    rng = np.random.default_rng(0)
    probas = [rng.dirichlet(np.ones(3), size=60) for _ in range(2)]
    y = np.tile([0, 1, 2], 20)
    with pytest.raises(NotFittedError):
        Stacker().predict_proba(probas)
    stacker = Stacker().fit(probas, y)
    assert stacker.n_features_in_ == 6
    side_by_side = np.hstack(probas)
    np.testing.assert_allclose(stacker.predict_proba(side_by_side), stacker.predict_proba(probas))
    assert stacker.score(side_by_side, y) == pytest.approx(np.mean(stacker.predict(probas) == y))
    with pytest.raises(ValueError, match="fitted on 2 models"):
        stacker.predict_proba(probas[:1])


def test_featurizer_refuses_to_transform_before_fit(battles_csv):
    from prefeat import load_battles

    with pytest.raises(NotFittedError):
        ArenaFeaturizer(families="cheap").transform(load_battles(battles_csv))
    with pytest.raises(NotFittedError):
        ArenaFeaturizer().get_feature_names_out()


def test_models_refuse_labels_without_ties(dataset):
    _, features, y = dataset
    with pytest.raises(ValueError, match=r"classes 0 \(A wins\), 1 \(B wins\) and 2 \(tie\)"):
        make_model("linear").fit(features, np.where(y == 2, 0, y))
