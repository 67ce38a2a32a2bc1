"""The leaderboard: Bradley-Terry ratings recovered from simulated votes, style control, symmetry, errors."""

import math

import numpy as np
import pandas as pd
import pytest

from prefeat.data import swap_battles
from prefeat.ratings import leaderboard, leaderboard_figure, leaderboard_table
from prefeat.ratings.bradley_terry import ELO_SCALE, battle_outcomes, design_matrix, fit_ratings

FAST = {"cache_dir": False, "n_jobs": 1}


def tie_aware_label(rng, p_a: float, tie: float) -> int:
    """A vote whose expected score for A (tie = half) is ``p_a``: a tie with probability ``tie``."""
    if rng.random() < tie:
        return 2
    return 0 if rng.random() < (p_a - tie / 2) / (1 - tie) else 1


def simulate_votes(strengths: dict[str, float], n: int, seed: int, tie: float = 0.1) -> pd.DataFrame:
    """Battles between random pairs, votes from the Bradley-Terry model with Elo-scale ``strengths``."""
    rng = np.random.default_rng(seed)
    names = list(strengths)
    rows = []
    for _ in range(n):
        a, b = rng.choice(len(names), size=2, replace=False)
        p_a = 1.0 / (1.0 + 10 ** ((strengths[names[b]] - strengths[names[a]]) / 400.0))
        rows.append((names[a], names[b], tie_aware_label(rng, p_a, tie)))
    frame = pd.DataFrame(rows, columns=["model_a", "model_b", "label"])
    frame["label"] = frame["label"].astype("Int8")
    return frame


# models: (strength on the logit scale, mean number of sentences per answer)
STYLE_MODELS = {"verbose": (0.0, 14), "terse": (0.0, 3), "middling": (0.3, 7), "weak": (-0.4, 6)}
LENGTH_EFFECT = 1.5  # logit per unit of words normdiff, (a - b) / (a + b + 1)


def answer(rng, sentences: int) -> str:
    words = ["the", "answer", "is", "here", "with", "some", "detail", "and", "care", "for", "you"]
    return " ".join(" ".join(rng.choice(words, size=rng.integers(4, 9))).capitalize() + "." for _ in range(sentences))


def simulate_style_battles(n: int = 2500, seed: int = 7) -> pd.DataFrame:
    """Competition-format battles where the voters like longer answers (the length term of their utility)
    on top of the models' strengths; "verbose" and "terse" are equally strong."""
    rng = np.random.default_rng(seed)
    names = list(STYLE_MODELS)
    rows = []
    for i in range(n):
        a, b = (names[k] for k in rng.choice(len(names), size=2, replace=False))
        texts = [answer(rng, max(1, rng.poisson(STYLE_MODELS[m][1]))) for m in (a, b)]
        words = [len(text.split()) for text in texts]
        utility = STYLE_MODELS[a][0] - STYLE_MODELS[b][0] + LENGTH_EFFECT * (words[0] - words[1]) / (sum(words) + 1)
        label = tie_aware_label(rng, 1.0 / (1.0 + math.exp(-utility)), 0.1)
        rows.append(
            {
                "id": str(i),
                "model_a": a,
                "model_b": b,
                "prompt": [f"Question {i % 50}: tell me about thing {i % 7}."],
                "response_a": [texts[0]],
                "response_b": [texts[1]],
                "label": label,
            }
        )
    frame = pd.DataFrame(rows)
    frame["label"] = frame["label"].astype("Int8")
    return frame


@pytest.fixture(scope="module")
def style_battles():
    return simulate_style_battles()


@pytest.fixture(scope="module")
def style_table(style_battles):
    return leaderboard_table(style_battles, control=("length",), n_bootstrap=30, seed=3, featurizer_options=FAST)


def test_design_matrix_marks_a_and_b():
    battles = pd.DataFrame({"model_a": ["x", "y"], "model_b": ["y", "z"]})
    X = design_matrix(battles, ["x", "y", "z"])
    np.testing.assert_array_equal(X, [[1, -1, 0], [0, 1, -1]])


def test_ratings_recovered_from_simulated_votes():
    truth = pd.Series({"m1": 1120.0, "m2": 1060.0, "m3": 1000.0, "m4": 940.0, "m5": 880.0})
    battles = simulate_votes(truth.to_dict(), 3000, seed=1)
    table = leaderboard(battles, n_bootstrap=60, seed=0)

    assert list(table.index) == list(truth.index)  # best first, in the true order
    assert list(table.columns) == ["rating", "lower", "upper"]
    assert table["rating"].mean() == pytest.approx(1000.0)
    error = table["rating"] - truth[table.index]  # both have mean 1000
    assert error.abs().max() < 25, error
    # every true rating inside its 95% interval, give or take a few points
    assert ((truth >= table["lower"] - 5) & (truth <= table["upper"] + 5)).all(), table.assign(truth=truth)
    width = table["upper"] - table["lower"]
    assert (width > 10).all() and (width < 80).all(), width
    assert table.attrs["n_battles"] == 3000
    assert table.attrs["style_coefficients"].empty


def test_ties_count_as_half_a_win():
    # a beats b once, b beats a once, two ties: equal
    battles = pd.DataFrame({"model_a": ["a", "b", "a", "b"], "model_b": ["b", "a", "b", "a"], "label": [0, 0, 2, 2]})
    ratings, _ = fit_ratings(design_matrix(battles, ["a", "b"]), battle_outcomes(battles)["score"], ["a", "b"])
    np.testing.assert_allclose(ratings, [1000.0, 1000.0], atol=1e-6)
    # a: one win and two ties in three battles, a score of 2/3: odds 2:1
    battles = pd.DataFrame({"model_a": ["a", "a", "b"], "model_b": ["b", "b", "a"], "label": [0, 2, 2]})
    ratings, _ = fit_ratings(design_matrix(battles, ["a", "b"]), battle_outcomes(battles)["score"], ["a", "b"])
    assert ratings[0] - ratings[1] == pytest.approx(ELO_SCALE * math.log(2.0), abs=1e-3)


def test_self_battles_and_unlabelled_battles_are_left_out():
    battles = simulate_votes({"a": 1050.0, "b": 950.0}, 200, seed=2)
    noisy = pd.concat(
        [battles, pd.DataFrame({"model_a": ["a", "b", "a"], "model_b": ["a", "b", "b"], "label": [0, 1, pd.NA]})],
        ignore_index=True,
    )
    noisy["label"] = noisy["label"].astype("Int8")
    pd.testing.assert_frame_equal(leaderboard(noisy, n_bootstrap=5), leaderboard(battles, n_bootstrap=5))
    assert leaderboard(noisy, n_bootstrap=0).attrs["n_battles"] == 200


def test_style_control_takes_back_the_verbose_models_votes(style_table):
    table = style_table
    verbose, terse = table.loc["verbose"], table.loc["terse"]
    # raw: the verbose model wins more votes than the equally strong terse one, beyond the intervals
    raw_gap = verbose["rating_raw"] - terse["rating_raw"]
    assert raw_gap > 100
    assert verbose["lower_raw"] > terse["upper_raw"]
    # controlled: equal within the noise (about 20 points), and the gap has shrunk by far
    gap = verbose["rating_controlled"] - terse["rating_controlled"]
    assert abs(gap) < 45 and abs(gap) < raw_gap / 4, table
    assert verbose["lower_controlled"] < terse["upper_controlled"]
    # the truly stronger model stays on top, the weak one last
    assert table.index[0] == "middling" and table.index[-1] == "weak"
    true_gap = ELO_SCALE * (STYLE_MODELS["middling"][0] - STYLE_MODELS["weak"][0])
    controlled_gap = table.loc["middling", "rating_controlled"] - table.loc["weak", "rating_controlled"]
    assert controlled_gap == pytest.approx(true_gap, abs=60)
    # the length coefficients: voters like longer answers
    coefficients = table.attrs["style_coefficients"]
    assert all(name.startswith("length__") and name.endswith("__normdiff") for name in coefficients.index)
    assert "length__turns__normdiff" not in coefficients.index  # constant (one turn each): dropped
    assert coefficients.sum() > 0.3, coefficients
    assert list(table.columns[:4]) == ["rating_raw", "lower_raw", "upper_raw", "rank_raw"]


def test_one_style_column_gives_a_positive_coefficient(style_battles):
    table = leaderboard(style_battles, control="length__words", n_bootstrap=20, featurizer_options=FAST)
    intervals = table.attrs["style_intervals"]
    assert list(intervals.index) == ["length__words__normdiff"]
    assert intervals.loc["length__words__normdiff", "lower"] > 0
    assert abs(table.loc["verbose", "rating"] - table.loc["terse", "rating"]) < 45


def test_precomputed_features_give_the_same_table(style_battles, style_table):
    from prefeat import ArenaFeaturizer

    features = (
        ArenaFeaturizer(families=["length", "formatting"], show_progress=False, **FAST)
        .set_output(transform="pandas")
        .fit_transform(style_battles)
    )
    features.index = style_battles.index
    again = leaderboard_table(style_battles, control=("length",), n_bootstrap=30, seed=3, features=features)
    pd.testing.assert_frame_equal(again, style_table)
    with pytest.raises(ValueError, match="no rows"):
        leaderboard(style_battles, control="length", n_bootstrap=0, features=features.iloc[:10])
    with pytest.raises(ValueError, match="refusal"):
        leaderboard(style_battles, control="refusal", n_bootstrap=0, features=features)


def test_swapping_a_and_b_gives_the_same_ratings(style_battles):
    swapped = swap_battles(style_battles)
    for control in (None, ("length",)):
        here = leaderboard(style_battles, control, n_bootstrap=10, seed=5, featurizer_options=FAST)
        there = leaderboard(swapped, control, n_bootstrap=10, seed=5, featurizer_options=FAST)
        pd.testing.assert_frame_equal(here, there, check_exact=False, rtol=0, atol=1e-6)
        pd.testing.assert_series_equal(
            here.attrs["style_coefficients"], there.attrs["style_coefficients"], check_exact=False, atol=1e-6
        )


def test_battles_without_model_names_are_refused(style_battles):
    with pytest.raises(ValueError, match=r"model_a.*model_b"):
        leaderboard(style_battles.drop(columns=["model_a", "model_b"]))
    with pytest.raises(ValueError, match=r"\['model_b'\]"):
        leaderboard(style_battles.drop(columns=["model_b"]))
    with pytest.raises(ValueError, match="label"):
        leaderboard(style_battles.drop(columns=["label"]))


def test_fewer_than_two_models_are_refused():
    one = pd.DataFrame({"model_a": ["x", "x"], "model_b": ["x", "x"], "label": [0, 1]})
    with pytest.raises(ValueError, match="at least two"):
        leaderboard(one)
    with pytest.raises(ValueError, match="at least two"):
        leaderboard(one.iloc[:0])
    with pytest.raises(ValueError, match="labels must be"):
        leaderboard(pd.DataFrame({"model_a": ["x"], "model_b": ["y"], "label": [3]}))


def test_same_seed_same_numbers_and_the_figure_is_a_png(style_battles, style_table, tmp_path):
    battles = simulate_votes({"a": 1100.0, "b": 1000.0, "c": 900.0}, 600, seed=4)
    first = leaderboard(battles, n_bootstrap=30, seed=11)
    pd.testing.assert_frame_equal(first, leaderboard(battles, n_bootstrap=30, seed=11), check_exact=True)
    other = leaderboard(battles, n_bootstrap=30, seed=12)
    assert not np.allclose(first["lower"], other["lower"])
    np.testing.assert_array_equal(first["rating"], other["rating"])  # the point estimate uses every battle

    path = tmp_path / "leaderboard.png"
    figure = leaderboard_figure(style_table, path, title="simulated")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000
    assert len(figure.axes) == 2  # ratings, and the style coefficients
    single = tmp_path / "raw.png"
    leaderboard_figure(first, single)
    assert single.read_bytes()[:4] == b"\x89PNG"


def test_anchor_and_an_undefeated_model():
    battles = simulate_votes({"a": 1100.0, "b": 1000.0, "c": 900.0}, 300, seed=6)
    anchored = leaderboard(battles, n_bootstrap=0, anchor="b")
    assert anchored.loc["b", "rating"] == pytest.approx(1000.0)
    centred = leaderboard(battles, n_bootstrap=0)
    shift = centred["rating"] - anchored["rating"]
    np.testing.assert_allclose(shift, shift.iloc[0], atol=1e-9)  # the same gaps
    assert anchored[["lower", "upper"]].isna().all().all()
    with pytest.raises(ValueError, match="anchor"):
        leaderboard(battles, anchor="zzz")
    # "d" wins all its battles: no finite maximum-likelihood rating; the weak penalty keeps it finite, far above
    unbeaten = pd.concat(
        [battles, pd.DataFrame({"model_a": ["d"] * 5, "model_b": ["a", "b", "c", "a", "b"], "label": [0] * 5})],
        ignore_index=True,
    )
    weak = leaderboard(unbeaten, n_bootstrap=0)
    firm = leaderboard(unbeaten, n_bootstrap=0, C=1.0)
    assert weak.index[0] == firm.index[0] == "d"
    assert np.isfinite(weak["rating"]).all() and weak.loc["d", "rating"] - weak.loc["a", "rating"] > 1000
    assert firm.loc["d", "rating"] - firm.loc["a", "rating"] < 500


def test_the_study_rates_named_models_from_its_own_features_and_says_why_it_cannot(tmp_path):
    """The report's leaderboard reads the study's feature table row for row (its index is the battle ids, not
    the battles'), falls back to raw ratings when the control's columns are absent, and returns the reason
    when the battles name no models."""
    from prefeat.study.standings import models_leaderboard, named_models_problem

    battles = simulate_style_battles(1500, seed=3)
    words = [battles[side].map(lambda turns: len(" ".join(turns).split())) for side in ("response_a", "response_b")]
    rng = np.random.default_rng(0)
    features = pd.DataFrame(
        {
            "length__tokens__normdiff": ((words[0] - words[1]) / (words[0] + words[1] + 1)).to_numpy(),
            "formatting__bold__normdiff": rng.normal(size=len(battles)),
            "length__tokens__a": words[0].to_numpy(dtype=float),
        },
        index=pd.RangeIndex(len(battles)) + 5_000,
    )
    table = models_leaderboard(battles, features, 0, tmp_path / "figures" / "board.png")
    coefficients = table.attrs["style_coefficients"]
    assert list(coefficients.index) == ["length__tokens__normdiff", "formatting__bold__normdiff"]
    assert coefficients["length__tokens__normdiff"] > 0.2  # the voters' taste for length, found row for row
    assert abs(coefficients["formatting__bold__normdiff"]) < 0.15  # noise
    assert abs(table.loc["verbose", "rating_controlled"] - table.loc["terse", "rating_controlled"]) < abs(
        table.loc["verbose", "rating_raw"] - table.loc["terse", "rating_raw"]
    )
    assert (tmp_path / "figures" / "board.png").stat().st_size > 0
    raw_only = models_leaderboard(battles, features[["length__tokens__a"]], 0, tmp_path / "raw.png")
    assert list(raw_only.columns) == ["rating", "lower", "upper"]
    assert named_models_problem(battles) is None
    unnamed = battles.drop(columns=["model_a"])
    assert "missing the columns ['model_a']" in models_leaderboard(unnamed, features, 0, tmp_path)
    alone = battles.assign(model_a="solo", model_b="solo")
    assert "at least two different models" in named_models_problem(alone)


def test_a_model_that_won_every_battle_gets_a_finite_rating_in_every_resample():
    """One outcome only (no tie, the same winner throughout): the fit still has both classes to learn from."""
    votes = pd.DataFrame({"model_a": ["x", "y"] * 10, "model_b": ["y", "x"] * 10, "label": [0, 1] * 10})
    table = leaderboard(votes, n_bootstrap=20)
    assert list(table.index) == ["x", "y"]
    assert np.isfinite(table.to_numpy()).all() and table.loc["x", "lower"] > table.loc["y", "upper"]


def test_the_mirrored_rows_have_the_same_likelihood_as_the_rows():
    """The fallback for one outcome class adds each row's mirror at half weight: on a problem with both
    classes it must leave the fit where it was."""
    from prefeat.ratings.bradley_terry import fit_coefficients, mirrored

    rng = np.random.default_rng(0)
    rows = rng.normal(size=(200, 4))
    outcome = (rows @ np.array([1.0, -0.5, 0.2, 0.0]) + rng.logistic(size=200) > 0).astype(float)
    weight = rng.uniform(0.5, 2.0, size=200)
    np.testing.assert_allclose(
        fit_coefficients(*mirrored(rows, outcome, weight)), fit_coefficients(rows, outcome, weight), atol=1e-7
    )
