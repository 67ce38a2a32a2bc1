import numpy as np
import pytest

from prefeat.metrics import accuracy, brier, expected_calibration_error, log_loss
from prefeat.models.stacking import Stacker, apply_temperature, average, fit_temperature, stack_out_of_fold


def simulated_models(n=600, seed=0):
    """Three noisy views of the same truth: a stack should beat each of them."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    truth = np.eye(3)[y] * 1.2
    probas = []
    for noise in (1.0, 1.2, 1.4):
        logits = truth + rng.normal(0, noise, (n, 3))
        probas.append(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
    folds = np.arange(n) % 5
    return probas, y, folds


def test_stack_out_of_fold_beats_each_model_and_the_average():
    probas, y, folds = simulated_models()
    stacked = stack_out_of_fold(probas, y, folds)
    assert log_loss(y, stacked) < min(log_loss(y, p) for p in probas)
    assert log_loss(y, stacked) < log_loss(y, average(probas))
    np.testing.assert_allclose(stacked.sum(axis=1), 1.0)


def test_stacker_is_symmetric_in_a_and_b_even_where_a_wins_more():
    """The conditional logit has no A or B intercept and one weight per model, so the swap of every model's
    P(A) and P(B) swaps the stack's, whatever it was fitted on. A per-class intercept or weight would learn the
    A bias of these labels, and break it."""
    probas, y, _ = simulated_models()
    biased = y.copy()
    biased[(y == 1) & (np.arange(len(y)) % 2 == 0)] = 0  # A wins about three times as often as B
    for labels in (y, biased):
        stacker = Stacker().fit(probas, labels)
        straight = stacker.predict_proba(probas)
        swapped = stacker.predict_proba([p[:, [1, 0, 2]] for p in probas])
        np.testing.assert_allclose(swapped, straight[:, [1, 0, 2]], rtol=0, atol=1e-12)
        assert not np.allclose(straight[:, 0], straight[:, 1], atol=0.05)  # and it still tells A from B


def test_a_folds_stacked_predictions_do_not_read_its_own_labels():
    """Given the models' out-of-fold predictions, permuting one fold's labels leaves its stacked predictions
    exactly as they were (the stacker scoring a fold is fitted on the other folds only)."""
    probas, y, folds = simulated_models()
    scored = folds == 3
    permuted = y.copy()
    permuted[scored] = np.random.default_rng(1).permutation(y[scored])
    assert (permuted != y).sum() > 50
    before, after = stack_out_of_fold(probas, y, folds), stack_out_of_fold(probas, permuted, folds)
    np.testing.assert_array_equal(after[scored], before[scored])
    assert not np.allclose(after[~scored], before[~scored])


@pytest.mark.xfail(
    strict=True,
    reason="known, second order: the base models' out-of-fold predictions of the other folds were fitted on this "
    "fold's labels, and the stacker that scores this fold learns from them (max 0.004 here); only nested "
    "cross-validation (K x (K - 1) base fits) removes it",
)
def test_the_whole_stack_from_the_models_fits_does_not_read_a_folds_labels(dataset):
    import dataclasses

    from prefeat.study.folds import assign_folds
    from prefeat.study.oof import cross_validate
    from prefeat.study.plan import CVPlan

    battles, features, y = dataset
    folds = assign_folds(battles, seed=0)
    plan = CVPlan(features, y, folds["fold"].to_numpy(), folds["group"].to_numpy())
    scored = plan.folds == 2
    permuted = y.copy()
    permuted[scored] = np.random.default_rng(0).permutation(y[scored])

    def stack(plan):
        oof = [cross_validate("linear", {"C": c}, plan).oof for c in (0.1, 1.0)]
        return stack_out_of_fold(oof, plan.y, plan.folds)

    before, after = stack(plan), stack(dataclasses.replace(plan, y=permuted))
    np.testing.assert_array_equal(after[scored], before[scored])


def test_stacker_weights_the_better_model_more_and_shrinks_towards_equal():
    probas, y, _ = simulated_models()
    free = Stacker(shrinkage=0.0).fit(probas, y)
    assert free.weights_[0] > free.weights_[2]
    shrunk = Stacker(shrinkage=100.0 * len(y)).fit(probas, y)
    np.testing.assert_allclose(shrunk.weights_, 1 / 3, atol=0.02)


def test_temperature_recovers_overconfidence():
    probas, y, _ = simulated_models()
    sharpened = apply_temperature(probas[0], 0.5)
    temperature = fit_temperature(y, sharpened)
    assert temperature > 1.5
    assert log_loss(y, apply_temperature(sharpened, temperature)) < log_loss(y, sharpened)


def test_metrics_on_known_values():
    y = np.array([0, 1, 2, 0])
    proba = np.array([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.5, 0.25, 0.25], [1.0, 0.0, 0.0]])
    assert log_loss(y, proba) == pytest.approx(-(np.log(0.5) * 2 + np.log(0.25) + np.log(1 - 1e-15)) / 4, rel=1e-6)
    assert accuracy(y, proba) == 0.75
    assert brier(y, proba) == pytest.approx((0.375 + 0.375 + (0.25 + 0.0625 + 0.5625) + 0) / 4)
    assert expected_calibration_error(y, proba) == pytest.approx((3 * abs(0.5 - 2 / 3) + 0) / 4)


def test_shrinkage_fades_as_rows_grow():
    probas, y, _ = simulated_models()
    free = Stacker(shrinkage=0.0).fit(probas, y).weights_
    few_rows = Stacker(shrinkage=250.0).fit(probas, y).weights_
    many_rows = Stacker(shrinkage=250.0).fit([np.tile(p, (20, 1)) for p in probas], np.tile(y, 20)).weights_
    assert np.abs(many_rows - free).max() < np.abs(few_rows - free).max() / 3
