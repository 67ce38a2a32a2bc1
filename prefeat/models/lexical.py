"""The lexical model: TF-IDF n-grams of each answer, compared A minus B, in a regularised logistic regression.

It reads the answers' texts rather than the feature table, so its errors differ from the other
models'. The vectorizer is fitted on the training answers (inside each fold, in cross-validation);
a battle's row is ``[D, |D|]`` with ``D = tfidf(A) - tfidf(B)``: ``D`` says which answer has more of
an n-gram, ``|D|`` how different the answers are, which is what a tie depends on. The multinomial
logistic regression learns every battle in both orders (``D`` negated, labels flipped) and
predicts the average of both orders, so swapping A and B swaps P(A) and P(B) exactly, like the
other models. The n-grams are read by :mod:`prefeat.models.ngrams` (scikit-learn's ``char_wb`` n-grams,
about seven times faster), and a fit keeps at most ``max_rows`` battles (a seeded sample; all of them
below that), which bounds the cost of its logistic regression at full size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from prefeat.data.text import ANSWER_COLUMNS
from prefeat.models.base import (
    CLASS_INDICES,
    SWAP_LABEL,
    SWAP_PROBA_COLUMNS,
    PreferenceModel,
    capped_rows,
    check_labels,
    check_texts,
)
from prefeat.models.ngrams import CharNgramTfidf
from prefeat.threads import limited_threads

MAX_ROWS = 10_000
SOLVER_TOL = 1e-3
VECTORIZER = {"min_df": 2, "max_features": 50_000, "dtype": np.float32}  # character 2-4-grams, sublinear tf


class LexicalModel(PreferenceModel):
    """TF-IDF n-grams of the answers, ``[A - B, |A - B|]``, in a multinomial logistic regression."""

    name = "lexical"
    stops_early = False
    reads = "texts"
    booster_suffix = ".npz"  # n-grams, idf and coefficients as plain arrays: faster and smaller than skops

    def __init__(self, params=None, symmetric=True, random_state=0, max_rows=MAX_ROWS, n_jobs=None):
        self.params = params
        self.symmetric = symmetric
        self.random_state = random_state
        self.max_rows = max_rows
        self.n_jobs = n_jobs  # the solver's BLAS threads (None: the current limited_threads count)

    def fit(self, X, y, groups=None):
        """Fit on a frame of answer texts (:func:`answer_texts`) and labels 0/1/2."""
        from sklearn.linear_model import LogisticRegression

        X, y = check_texts(X, "the lexical model"), check_labels(y)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        kept = capped_rows(len(X), self.max_rows, self.random_state)
        X, y = X.iloc[kept], y[kept]
        vectorizer = CharNgramTfidf(**VECTORIZER)
        answers = vectorizer.fit_transform(np.concatenate([X["response_a"].to_numpy(), X["response_b"].to_numpy()]))
        difference = answers[: len(X)] - answers[len(X) :]
        rows, labels = design(difference), y
        if self.symmetric:
            rows, labels = sp.vstack([rows, design(-difference)]), np.concatenate([y, SWAP_LABEL[y]])
        with limited_threads(self.n_jobs):
            classifier = LogisticRegression(max_iter=1000, tol=SOLVER_TOL, **self._all_params()).fit(rows, labels)
        self._set_columns(list(ANSWER_COLUMNS))
        self.booster_ = {"vectorizer": vectorizer, "classifier": classifier}
        return self

    def difference(self, X) -> sp.csr_matrix:
        """``tfidf(A) - tfidf(B)`` of each battle in ``X``."""
        check_is_fitted(self, "booster_")
        vectorizer, X = self.booster_["vectorizer"], check_texts(X, "the lexical model")
        return (vectorizer.transform(X["response_a"]) - vectorizer.transform(X["response_b"])).tocsr()

    def predict_proba(self, X) -> np.ndarray:
        difference = self.difference(X)
        classifier = self.booster_["classifier"]
        with limited_threads(self.n_jobs):
            proba = classifier.predict_proba(design(difference))
            if self.symmetric:
                proba = (proba + classifier.predict_proba(design(-difference))[:, SWAP_PROBA_COLUMNS]) / 2
        return proba / proba.sum(axis=1, keepdims=True)

    def ngram_weights(self) -> pd.DataFrame:
        """Per n-gram: ``A over B``, the log-odds of A over B per unit of A-minus-B TF-IDF, and ``tie``,
        the log-odds of a tie over a win per unit of |A - B|."""
        check_is_fitted(self, "booster_")
        coef = self.booster_["classifier"].coef_
        width = coef.shape[1] // 2
        on_difference, on_distance = coef[:, :width], coef[:, width:]
        return pd.DataFrame(
            {
                "A over B": on_difference[0] - on_difference[1],
                "tie": on_distance[2] - (on_distance[0] + on_distance[1]) / 2,
            },
            index=self.booster_["vectorizer"].get_feature_names_out(),
        )

    def _save_booster(self, path: Path) -> None:
        vectorizer, classifier = self.booster_["vectorizer"], self.booster_["classifier"]
        with path.open("wb") as file:
            np.savez(
                file,
                **vectorizer.vocabulary_arrays(),
                coef=classifier.coef_,
                intercept=classifier.intercept_,
            )

    def _load_booster(self, path: Path) -> dict:
        from sklearn.linear_model import LogisticRegression

        with np.load(path, allow_pickle=False) as stored:
            ngrams, idf, coef, intercept = (stored[key] for key in ("ngrams", "idf", "coef", "intercept"))
        vectorizer = CharNgramTfidf(**VECTORIZER).with_vocabulary(ngrams, idf)
        classifier = LogisticRegression(**self._all_params())
        classifier.classes_, classifier.coef_, classifier.intercept_ = CLASS_INDICES, coef, intercept
        classifier.n_features_in_ = coef.shape[1]
        return {"vectorizer": vectorizer, "classifier": classifier}

    @staticmethod
    def default_params():
        return {"C": 1.0}

    @staticmethod
    def search_space(trial):
        return {"C": trial.suggest_float("C", 0.03, 30.0, log=True)}


def design(difference) -> sp.csr_matrix:
    """A battle's row for the classifier: ``[D, |D|]``."""
    return sp.hstack([difference, abs(difference)]).tocsr()
