"""The lexical model: TF-IDF n-grams of the answers, symmetric by construction, saved as plain arrays."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from prefeat import swap_battles
from prefeat.data.text import answer_texts
from prefeat.metrics import log_loss
from prefeat.models import load_model, make_model
from prefeat.models.lexical import design
from prefeat.study.explain import explain_model, mean_abs_centred
from prefeat.study.folds import assign_folds
from prefeat.study.oof import cross_validate
from prefeat.study.plan import CVPlan


@pytest.fixture(scope="module")
def fitted(dataset):
    battles, _, y = dataset
    texts = answer_texts(battles)
    return battles, texts, y, make_model("lexical").fit(texts, y)


def test_texts_are_joined_turns_indexed_by_id(dataset):
    battles, _, _ = dataset
    texts = answer_texts(battles)
    assert texts.index.tolist() == battles["id"].tolist()
    assert texts.columns.tolist() == ["response_a", "response_b", "model_a", "model_b"]  # the fixture names both
    assert all(isinstance(text, str) for text in texts["response_a"])
    assert set(texts["model_a"]) == {"model-x"}
    unnamed = answer_texts(battles.drop(columns=["model_a", "model_b"]))
    assert unnamed.columns.tolist() == ["response_a", "response_b"]  # a test file: the answers only


def test_swapping_the_answers_swaps_the_probabilities_exactly(fitted):
    battles, texts, _, model = fitted
    proba = model.predict_proba(texts)
    swapped = model.predict_proba(answer_texts(swap_battles(battles)))
    np.testing.assert_allclose(proba, swapped[:, [1, 0, 2]], atol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def one_order_asymmetry(model, texts) -> float:
    """How far the classifier's own one-order predictions, on ``[D, |D|]`` and on the swap ``[-D, |D|]``, are from
    swapping P(A) and P(B)."""
    classifier, difference = model.booster_["classifier"], model.difference(texts)
    straight, swapped = classifier.predict_proba(design(difference)), classifier.predict_proba(design(-difference))
    return float(np.abs(straight - swapped[:, [1, 0, 2]]).mean())


def test_learning_both_orders_makes_the_classifiers_own_predictions_symmetric(fitted):
    """The prediction averages both orders, so it is symmetric whatever was learnt; the swap training shows in the
    classifier's predictions of one order, and the model must still tell A from B."""
    _, texts, y, model = fitted
    both = one_order_asymmetry(model, texts)
    one = one_order_asymmetry(make_model("lexical", symmetric=False).fit(texts, y), texts)
    assert both < 1e-3 * one  # a convex fit on data symmetric under the swap: up to the solver's tolerance
    proba = model.predict_proba(texts)
    assert np.abs(proba[:, 0] - proba[:, 1]).mean() > 0.05


def test_learns_the_signal_out_of_fold_and_repeats(dataset):
    battles, _, y = dataset
    folds = assign_folds(battles, seed=0)
    plan = CVPlan(answer_texts(battles), y, folds["fold"].to_numpy(), folds["group"].to_numpy())
    first, second = cross_validate("lexical", None, plan), cross_validate("lexical", None, plan)
    np.testing.assert_array_equal(first.oof, second.oof)
    prior = np.bincount(y, minlength=3) / len(y)
    assert log_loss(y, first.oof) < log_loss(y, np.tile(prior, (len(y), 1)))


def test_round_trip_is_exact_and_small(fitted, tmp_path):
    _, texts, _, model = fitted
    paths = model.save(tmp_path)
    assert {path.name for path in paths} == {"lexical.json", "lexical.npz"}
    np.testing.assert_array_equal(load_model(tmp_path, "lexical").predict_proba(texts), model.predict_proba(texts))


def test_refuses_a_feature_table_and_predicting_before_fit(dataset):
    battles, features, y = dataset
    with pytest.raises(ValueError, match="answer_texts"):
        make_model("lexical").fit(features, y)
    with pytest.raises(NotFittedError):
        make_model("lexical").predict_proba(answer_texts(battles))


def test_ngram_weights_point_the_way_the_data_does(fitted):
    """In the fixtures the longer answer tends to win, and the longest style repeats 'A long answer.'."""
    _, _, _, model = fitted
    weights = model.ngram_weights()
    assert weights["A over B"].loc["lon"] > 0


def test_mean_abs_centred_matches_the_dense_computation():
    dense = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0], [3.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    expected = np.abs(dense - dense.mean(axis=0)).mean(axis=0)
    np.testing.assert_allclose(mean_abs_centred(sp.csr_matrix(dense)), expected)


def test_explanation_ranks_ngrams_and_writes_the_strongest(fitted, tmp_path):
    battles, texts, _, model = fitted
    explanation = explain_model(model, texts, battles["id"], tmp_path, max_rows=50)
    assert explanation.importance.index[0].startswith("lexical__")
    assert explanation.families.index.tolist() == ["lexical"]
    assert (explanation.importance["total"].diff().dropna() <= 0).all()
    assert (tmp_path / "lexical_top_ngrams.csv").exists() and (tmp_path / "shap_lexical_bar.png").exists()


def test_a_fit_keeps_at_most_max_rows_battles(dataset):
    battles, _, y = dataset
    texts = answer_texts(battles)
    capped = make_model("lexical", max_rows=60).fit(texts, y)
    again = make_model("lexical", max_rows=60).fit(texts, y)
    np.testing.assert_array_equal(capped.predict_proba(texts), again.predict_proba(texts))
    every = make_model("lexical").fit(texts, y)
    assert not np.allclose(capped.predict_proba(texts), every.predict_proba(texts))
    assert make_model("lexical").get_params()["max_rows"] == 10_000
