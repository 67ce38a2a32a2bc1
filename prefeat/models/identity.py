"""The identity model: who wrote each answer, and how strong that author is, from the training battles'
model names and votes; prediction reads the answers only.

Two parts are learned from the battles a fit is given:

- **authorship**, P(author | answer): a multinomial naive Bayes over the character n-grams the lexical
  model reads (:class:`~prefeat.models.ngrams.CharNgramTfidf`), one class per model name of the training
  answers, its softmax temperature chosen on the inner folds below (naive Bayes alone is overconfident);
- **strengths**: each author's Bradley-Terry strength (logits, ties as half a win, L2-regularised by
  ``strength_C``) from the battles' votes (:mod:`prefeat.ratings.bradley_terry`).

From them each answer gets ``identity__{metric}__{a,b,diff,normdiff}`` columns: ``strength`` (the
expected strength of its author under P(author | answer)), ``stronger`` (the probability that its author
is strictly stronger than the other answer's), ``top`` (the largest author probability) and ``entropy``
(of P(author | answer)); and ``identity__same_author__pair``, the probability that one model wrote both.
Swapping A and B swaps the ``a`` and ``b`` columns and negates the differences, exactly.

Votes are labels, so no battle's own vote may reach its features: inside ``fit`` the training battles'
columns come from parts learned on the other inner folds (grouped by prompt, like K-fold target
encoding), and the battles predicted get the mean of the inner parts' columns. The head thus reads, at
prediction, columns made by the very parts (each learned on the other inner folds: 2/3 of the battles,
given three prompts or more) whose columns it was fitted on; parts refitted on every battle would give
sharper author probabilities and less-shrunk strengths than the head ever saw. The study fits the
model per fold like any other, so the scored battles' votes reach nothing they are scored with. A linear head
(:class:`~prefeat.models.linear.LinearModel` on the bounded ``diff`` and ``pair`` columns, learning both
answer orders) turns the columns into P(A), P(B), P(tie).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import log_softmax
from scipy.stats import entropy
from sklearn.model_selection import GroupKFold
from sklearn.utils.validation import check_is_fitted

from prefeat.data.text import AUTHOR_COLUMNS
from prefeat.features.columns import side_block, side_columns
from prefeat.models.base import capped_rows, check_labels, check_texts
from prefeat.models.lexical import MAX_ROWS, VECTORIZER
from prefeat.models.linear import LinearModel
from prefeat.models.ngrams import CharNgramTfidf
from prefeat.ratings.bradley_terry import ELO_BASE, ELO_SCALE, battle_outcomes, design_matrix, fit_ratings

FAMILY = "identity"
SIDE_METRICS = ("strength", "stronger", "top", "entropy")
PAIR_METRICS = ("same_author",)
COLUMNS = (*side_columns(FAMILY, SIDE_METRICS), *(f"{FAMILY}__{metric}__pair" for metric in PAIR_METRICS))
INNER_SPLITS = 3
TEMPERATURES = np.geomspace(0.05, 20.0, 41)  # the grid the inner folds choose the softmax temperature from


def authors_named(texts: pd.DataFrame) -> list[str]:
    """The distinct model names of the battles' answers (none when they name no model)."""
    if any(column not in texts.columns for column in AUTHOR_COLUMNS):
        return []
    return sorted(set(texts["model_a"].dropna()) | set(texts["model_b"].dropna()))


def check_named_texts(X) -> pd.DataFrame:
    """The answers' texts (:func:`~prefeat.data.text.answer_texts`) naming two authors or more."""
    X = check_texts(X, "the identity model")
    if len(authors_named(X)) < 2:
        raise ValueError(
            f"the identity model learns from the answers' authors: fit needs the columns {list(AUTHOR_COLUMNS)} "
            f"naming at least two models; found {authors_named(X) or 'none'}"
        )
    return X


@dataclass
class Authorship:
    """What one fit learned: the n-gram reader, the authors, their naive-Bayes n-gram log-probabilities
    and log-priors, the softmax temperature, and each author's Bradley-Terry strength (logits)."""

    vectorizer: CharNgramTfidf
    authors: np.ndarray
    log_prob: np.ndarray
    log_prior: np.ndarray
    strengths: np.ndarray
    temperature: float = 1.0

    def log_likelihood(self, answers) -> np.ndarray:
        """Naive Bayes' joint log-likelihood of each answer and each author, (answers, authors)."""
        return np.asarray(self.vectorizer.transform(answers) @ self.log_prob.T) + self.log_prior

    def author_proba(self, answers) -> np.ndarray:
        return np.exp(log_softmax(self.log_likelihood(answers) / self.temperature, axis=1))


def learn_authorship(texts: pd.DataFrame, y: np.ndarray, alpha: float, strength_C: float) -> Authorship:
    """Authorship and strengths from the battles ``texts`` (named) and their labels ``y``."""
    from sklearn.naive_bayes import MultinomialNB

    answers = np.concatenate([texts["response_a"].to_numpy(), texts["response_b"].to_numpy()])
    authors = np.concatenate([texts["model_a"].to_numpy(), texts["model_b"].to_numpy()])
    named = pd.notna(authors)
    vectorizer = CharNgramTfidf(**VECTORIZER)
    bayes = MultinomialNB(alpha=alpha).fit(vectorizer.fit_transform(answers[named]), authors[named].astype(str))
    return Authorship(
        vectorizer=vectorizer,
        authors=bayes.classes_,
        log_prob=bayes.feature_log_prob_,
        log_prior=bayes.class_log_prior_,
        strengths=strengths(texts, y, list(bayes.classes_), strength_C),
    )


def strengths(texts: pd.DataFrame, y: np.ndarray, authors: list[str], C: float) -> np.ndarray:
    """Each author's Bradley-Terry strength in logits (mean 0) from the votes; all 0 without two of them."""
    votes = pd.DataFrame({"model_a": texts["model_a"].to_numpy(), "model_b": texts["model_b"].to_numpy(), "label": y})
    outcomes = battle_outcomes(votes)
    if len(set(outcomes["model_a"]) | set(outcomes["model_b"])) < 2:
        return np.zeros(len(authors))
    ratings, _ = fit_ratings(design_matrix(outcomes, authors), outcomes["score"].to_numpy(), authors, C=C)
    return (ratings - ELO_BASE) / ELO_SCALE


def identity_columns(authorship: Authorship, texts: pd.DataFrame) -> pd.DataFrame:
    """The identity columns of the battles ``texts`` (:data:`COLUMNS`, indexed like ``texts``)."""
    proba_a = authorship.author_proba(texts["response_a"])
    proba_b = authorship.author_proba(texts["response_b"])
    strength = authorship.strengths
    beats = (strength[:, None] > strength[None, :]).astype(float)  # beats[i, j]: author i is stronger than j

    def side(own, other):
        stronger = ((own @ beats) * other).sum(axis=1)
        return np.column_stack([own @ strength, stronger, own.max(axis=1), entropy(own, axis=1)])

    same_author = (proba_a * proba_b).sum(axis=1)
    values = np.hstack([side_block(side(proba_a, proba_b), side(proba_b, proba_a)), same_author[:, None]])
    return pd.DataFrame(values, columns=list(COLUMNS), index=texts.index)


def author_log_loss(log_likelihood: np.ndarray, authors: np.ndarray, truth: np.ndarray, temperature: float):
    """Each answer's author log-loss at ``temperature``; NaN where its author is not among ``authors``."""
    position = {author: i for i, author in enumerate(authors)}
    index = np.array([position.get(author, -1) for author in truth])
    log_proba = log_softmax(log_likelihood / temperature, axis=1)
    losses = -np.take_along_axis(log_proba, index.clip(min=0)[:, None], axis=1)[:, 0]
    return np.where(index >= 0, losses, np.nan)


def inner_folds(groups: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    splits = min(INNER_SPLITS, len(np.unique(groups)))
    return list(GroupKFold(n_splits=splits).split(np.zeros(len(groups)), groups=groups))


def cross_fitted(X, y, groups, alpha: float, strength_C: float) -> tuple[list[Authorship], pd.DataFrame]:
    """The parts learned on each inner fold's other battles, sharing the softmax temperature that gives the
    held-out answers the lowest author log-loss, and the training battles' identity columns, each from the
    part that did not learn from its battle."""
    folds = inner_folds(groups)
    parts = [learn_authorship(X.iloc[train], y[train], alpha, strength_C) for train, _ in folds]
    held_answers = []  # per inner fold: (log-likelihoods of its answers, the fit's authors, the true authors)
    for part, (_, held) in zip(parts, folds, strict=True):
        answers = pd.concat([X["response_a"].iloc[held], X["response_b"].iloc[held]])
        truth = np.concatenate([X["model_a"].to_numpy()[held], X["model_b"].to_numpy()[held]])
        held_answers.append((part.log_likelihood(answers), part.authors, truth))
    losses = [
        np.nanmean(np.concatenate([author_log_loss(*answers, temperature) for answers in held_answers]))
        for temperature in TEMPERATURES
    ]
    # naive Bayes' own scale (1) where no held-out answer has an author its fit knows (tiny data)
    temperature = float(TEMPERATURES[int(np.nanargmin(losses))]) if np.isfinite(losses).any() else 1.0
    columns = pd.DataFrame(np.nan, index=X.index, columns=list(COLUMNS))
    for part, (_, held) in zip(parts, folds, strict=True):
        part.temperature = temperature
        columns.iloc[held] = identity_columns(part, X.iloc[held]).to_numpy()
    return parts, columns


class IdentityModel(LinearModel):
    """Who wrote each answer and how strong the author is, learned from the battles' model names and votes.

    ``fit`` reads :func:`~prefeat.data.text.answer_texts` with the authors' names; ``predict_proba`` and
    :meth:`transform` read the answers only (names, when there, are ignored). ``max_rows`` caps the battles
    a fit learns from (a seeded sample), like the lexical model's.
    """

    name = "identity"
    reads = "texts"
    roles = ("diff", "pair")  # the head reads every difference: all are bounded

    def __init__(self, params=None, symmetric=True, random_state=0, max_rows=MAX_ROWS, n_jobs=None):
        self.params = params
        self.symmetric = symmetric
        self.random_state = random_state
        self.max_rows = max_rows
        self.n_jobs = n_jobs

    def fit(self, X, y, groups=None):
        """Fit on the named answers' texts and labels 0/1/2; ``groups`` (prompts) keep the inner folds apart."""
        X, y = check_named_texts(X), check_labels(y)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        groups = np.arange(len(X)) if groups is None else np.asarray(groups)
        kept = capped_rows(len(X), self.max_rows, self.random_state)
        X, y, groups = X.iloc[kept], y[kept], groups[kept]
        params = self._all_params()
        self.parts_, inner = cross_fitted(X, y, groups, params["alpha"], params["strength_C"])
        return super().fit(inner, y)

    def transform(self, X) -> pd.DataFrame:
        """The identity columns of the battles ``X`` (answers' texts): the mean of the inner parts' columns."""
        check_is_fitted(self, "parts_")
        X = check_texts(X, "the identity model")
        return sum(identity_columns(part, X) for part in self.parts_) / len(self.parts_)

    def predict_proba(self, X) -> np.ndarray:
        return super().predict_proba(self.transform(X))

    def _save_booster(self, path: Path) -> None:
        super()._save_booster(path)
        arrays = {}
        for i, part in enumerate(self.parts_):
            arrays |= {
                **{f"{i}/{key}": value for key, value in part.vectorizer.vocabulary_arrays().items()},
                f"{i}/authors": part.authors.astype(str),
                f"{i}/log_prob": part.log_prob,
                f"{i}/log_prior": part.log_prior,
                f"{i}/strengths": part.strengths,
                f"{i}/temperature": np.array(part.temperature),
            }
        with authorship_path(path).open("wb") as file:
            np.savez_compressed(file, parts=np.array(len(self.parts_)), **arrays)  # n-grams x authors, mostly alike

    def _load_booster(self, path: Path):
        with np.load(authorship_path(path), allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
        if "parts" not in arrays:
            raise ValueError(
                f"{authorship_path(path)} was saved by an older prefeat (one part refitted on every battle, not "
                "the inner parts prediction now reads): train the pipeline again"
            )
        self.parts_ = [stored_part(arrays, i) for i in range(int(arrays["parts"]))]
        return super()._load_booster(path)

    @staticmethod
    def default_params():
        return {"C": 0.1, "alpha": 0.1, "strength_C": 1.0}

    @staticmethod
    def search_space(trial):
        return {
            "C": trial.suggest_float("C", 1e-3, 10.0, log=True),
            "alpha": trial.suggest_float("alpha", 1e-3, 1.0, log=True),
            "strength_C": trial.suggest_float("strength_C", 0.03, 30.0, log=True),
        }


def stored_part(arrays: dict, i: int) -> Authorship:
    """The ``i``-th inner part from a saved model's arrays."""
    part = {key.removeprefix(f"{i}/"): value for key, value in arrays.items() if key.startswith(f"{i}/")}
    return Authorship(
        vectorizer=CharNgramTfidf(**VECTORIZER).with_vocabulary(part.pop("ngrams"), part.pop("idf")),
        temperature=float(part.pop("temperature")),
        **part,
    )


def authorship_path(booster_path: Path) -> Path:
    """Where a saved identity model keeps its authorship arrays, beside the head."""
    return booster_path.with_name(f"{IdentityModel.name}.authorship.npz")
