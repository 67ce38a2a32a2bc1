"""The identity model: authorship and strengths from model names and votes, cross-fitted, swap-exact."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_battles

from prefeat import load_battles
from prefeat.data.text import answer_texts
from prefeat.models import IdentityModel, load_model
from prefeat.models.identity import COLUMNS, authors_named, authorship_path, inner_folds
from prefeat.models.linear import LinearModel
from prefeat.study.oof import cross_validate
from prefeat.study.plan import CVPlan

STRENGTHS = {"strong": 1.5, "middle": 0.0, "weak": -1.5}
HABITS = {  # what each author writes, whatever the prompt: the traces authorship is learned from
    "strong": "Certainly! Here is a careful, complete answer with every step explained.",
    "middle": "OK. Short reply here, nothing more to add.",
    "weak": "umm i dunno lol maybe try google",
}


def simulated_battles(n_rows: int, seed: int) -> pd.DataFrame:
    """Battles of three authors with known Bradley-Terry strengths, each answer in its author's habit."""
    rng = np.random.default_rng(seed)
    names = list(STRENGTHS)
    rows = []
    for i in range(n_rows):
        author_a, author_b = rng.choice(names, 2, replace=False)
        p_a = 1 / (1 + np.exp(STRENGTHS[author_b] - STRENGTHS[author_a]))
        winner = 2 if rng.random() < 0.2 else int(rng.random() > p_a)
        rows.append(
            {
                "id": i,
                "model_a": author_a,
                "model_b": author_b,
                "prompt": json.dumps([f"question {i % (n_rows // 3)}"]),
                "response_a": json.dumps([f"{HABITS[author_a]} ({i})"]),
                "response_b": json.dumps([f"{HABITS[author_b]} [{i}]"]),
                "winner_model_a": int(winner == 0),
                "winner_model_b": int(winner == 1),
                "winner_tie": int(winner == 2),
            }
        )
    return pd.DataFrame(rows)


def loaded(frame: pd.DataFrame, tmp_path) -> pd.DataFrame:
    frame.to_csv(tmp_path / "battles.csv", index=False)
    return load_battles(tmp_path / "battles.csv")


def swapped(texts: pd.DataFrame) -> pd.DataFrame:
    return texts.rename(
        columns={"response_a": "response_b", "response_b": "response_a", "model_a": "model_b", "model_b": "model_a"}
    )[texts.columns]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    battles = loaded(simulated_battles(300, seed=0), tmp_path_factory.mktemp("identity"))
    return answer_texts(battles), battles["label"].to_numpy(dtype=int)


def test_the_strengths_and_authors_are_recovered_from_simulated_votes(simulated):
    texts, y = simulated
    model = IdentityModel().fit(texts, y)
    assert len(model.parts_) == 3  # one per inner fold, each learned on the other two
    for part in model.parts_:
        strength = dict(zip(part.authors, part.strengths, strict=True))
        assert strength["strong"] > strength["middle"] + 0.5 > strength["weak"] + 1.0
        proba = part.author_proba(texts["response_a"])
        assert np.mean(part.authors[proba.argmax(axis=1)] == texts["model_a"].to_numpy()) > 0.95
    # the expected strength of each answer follows its author's
    columns = model.transform(texts)
    by_author = columns.groupby(texts["model_a"].to_numpy())["identity__strength__a"].mean()
    assert by_author["strong"] > by_author["middle"] > by_author["weak"]


def test_held_out_battles_are_predicted_better_than_the_prior_and_without_names(simulated):
    texts, y = simulated
    train = np.arange(len(y)) < 200
    model = IdentityModel().fit(texts[train], y[train])
    held = texts[~train][["response_a", "response_b"]]  # a test file names no model
    proba = model.predict_proba(held)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    prior = np.bincount(y[train], minlength=3) / train.sum()
    loss = -np.mean(np.log(proba[np.arange(len(held)), y[~train]]))
    assert loss < -np.mean(np.log(prior[y[~train]])) - 0.1
    # unknown names in a test file are ignored
    renamed = texts[~train].assign(model_a="never-seen", model_b=None)
    np.testing.assert_array_equal(model.predict_proba(renamed), proba)


def test_swapping_the_answers_swaps_the_columns_exactly(simulated):
    texts, y = simulated
    model = IdentityModel().fit(texts, y)
    one, other = model.transform(texts), model.transform(swapped(texts))
    for column in COLUMNS:
        stem, _, role = column.rpartition("__")
        if role in ("a", "b"):
            partner = f"{stem}__{'b' if role == 'a' else 'a'}"
            np.testing.assert_array_equal(other[column], one[partner])
        elif role in ("diff", "normdiff"):
            np.testing.assert_array_equal(other[column], -one[column])
        else:
            np.testing.assert_array_equal(other[column], one[column])
    assert np.abs(one["identity__strength__diff"]).max() > 0.5  # the swap moved something
    np.testing.assert_allclose(model.predict_proba(swapped(texts)), model.predict_proba(texts)[:, [1, 0, 2]])


def test_the_training_battles_columns_never_read_their_own_votes(simulated, monkeypatch):
    """Inside fit, a battle's columns come from parts learned on the other inner folds: permuting the votes
    of one inner fold leaves the columns the head is fitted on as they were for that fold, and moves the
    others'."""
    texts, y = simulated
    groups = np.arange(len(y)) // 2
    head_inputs = []
    head_fit = LinearModel.fit
    monkeypatch.setattr(LinearModel, "fit", lambda self, X, y: head_inputs.append(X) or head_fit(self, X, y))
    IdentityModel().fit(texts, y, groups=groups)
    _, held = inner_folds(groups)[0]
    permuted = y.copy()
    permuted[held] = np.random.default_rng(0).permutation(y[held])
    IdentityModel().fit(texts, permuted, groups=groups)
    before, after = head_inputs
    pd.testing.assert_frame_equal(after.iloc[held], before.iloc[held])
    others = np.setdiff1d(np.arange(len(y)), held)
    assert not np.allclose(after.iloc[others], before.iloc[others])


def test_a_folds_predictions_do_not_read_its_own_votes_or_names(simulated):
    texts, y = simulated
    rows = np.arange(len(y))
    plan = CVPlan(texts, y, folds=rows % 5, groups=rows // 2)
    before = cross_validate("identity", None, plan).oof
    held = plan.folds == 0
    changed = texts.copy()
    changed.loc[held, ["model_a", "model_b"]] = changed.loc[held, ["model_b", "model_a"]].to_numpy()
    permuted = y.copy()
    permuted[held] = np.random.default_rng(1).permutation(y[held])
    after = cross_validate("identity", None, CVPlan(changed, permuted, plan.folds, plan.groups)).oof
    np.testing.assert_array_equal(after[held], before[held])
    assert not np.allclose(after[~held], before[~held])


def test_a_saved_identity_model_predicts_the_same(simulated, tmp_path):
    texts, y = simulated
    model = IdentityModel().fit(texts, y)
    paths = model.save(tmp_path)
    assert (tmp_path / "identity.authorship.npz").exists() and all(path.exists() for path in paths)
    reloaded = load_model(tmp_path, "identity")
    np.testing.assert_array_equal(reloaded.predict_proba(texts), model.predict_proba(texts))
    # a model saved before the inner parts were kept (one part's arrays, no "parts") says what to do
    path = authorship_path(tmp_path / "identity.skops")
    with np.load(path) as stored:
        one_part = {key.removeprefix("0/"): stored[key] for key in stored.files if key.startswith("0/")}
    np.savez(path, **one_part)
    with pytest.raises(ValueError, match=r"saved by an older prefeat.*train the pipeline again"):
        load_model(tmp_path, "identity")


def test_fit_without_two_named_models_says_what_it_needs(tmp_path):
    battles = loaded(make_battles(40), tmp_path)
    texts, y = answer_texts(battles), battles["label"].to_numpy(dtype=int)
    with pytest.raises(ValueError, match="naming at least two models; found none"):
        IdentityModel().fit(texts[["response_a", "response_b"]], y)
    with pytest.raises(ValueError, match=r"found \['only-one'\]"):
        IdentityModel().fit(texts.assign(model_a="only-one", model_b=None), y)
    assert authors_named(texts) == ["model-x", "model-y"]
