"""The lexical model's cost: its n-gram reader against scikit-learn's, and its solver's tolerance.

1. Texts per second of scikit-learn's ``TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4))``
   and of ``prefeat.models.ngrams.CharNgramTfidf`` (fit, then transform) on the real answers of the shared
   Kaggle rows, with a check that both give the same vocabulary and matrix on those texts.
2. The logistic regression's stopping tolerance, 1e-4 (scikit-learn's default) against 1e-3: the
   lexical model alone, default parameters, 5 folds grouped by prompt (MT-Bench: by question) x 5
   seeds, seed by seed, with the seconds each took.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import DATASETS, fold_groups, table, write_section

import prefeat.models.lexical
from prefeat import load_battles
from prefeat.data.text import answer_texts
from prefeat.metrics import log_loss
from prefeat.models.ngrams import CharNgramTfidf, read_exactly
from prefeat.study.folds import assign_folds
from prefeat.study.oof import cross_validate
from prefeat.study.plan import CVPlan

SEEDS = range(5)
TOLERANCES = (1e-4, 1e-3)
TOLERANCE_HEADER = ["data", "tol 1e-4", "tol 1e-3", "1e-3 minus 1e-4", "seed by seed", "seeds worse", "seconds"]


def reader_rows(texts: list[str]) -> tuple[list[list], bool]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    readers = {
        "scikit-learn TfidfVectorizer (char_wb)": TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=2
        ),
        "prefeat.models.ngrams.CharNgramTfidf": CharNgramTfidf(min_df=2),
    }
    rows, matrices = [], {}
    for label, reader in readers.items():
        started = time.perf_counter()
        matrices[label] = reader.fit(texts).transform(texts)
        seconds = time.perf_counter() - started
        rows.append([label, len(texts), f"{seconds:.1f}", round(2 * len(texts) / seconds)])
    theirs, ours = matrices.values()
    agree = theirs.shape == ours.shape and abs(theirs - ours).max() < 1e-9
    print("same matrix:", agree, flush=True)
    return rows, agree


def tolerance_losses(data_name: str) -> dict[float, tuple[list[float], float]]:
    battles = load_battles(DATASETS[data_name])
    texts, y = answer_texts(battles), battles["label"].to_numpy()
    groups = fold_groups(data_name, battles)
    measured = {}
    for tolerance in TOLERANCES:
        prefeat.models.lexical.SOLVER_TOL = tolerance
        started, losses = time.perf_counter(), []
        for seed in SEEDS:
            assigned = assign_folds(battles, 5, seed, groups=groups)
            folds, group = assigned["fold"].to_numpy(), assigned["group"].to_numpy()
            losses.append(log_loss(y, cross_validate("lexical", None, CVPlan(texts, y, folds, group, seed)).oof))
        measured[tolerance] = (losses, time.perf_counter() - started)
        print(data_name, tolerance, np.round(losses, 4), flush=True)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", nargs="+", default=["kaggle", "mtbench"], choices=sorted(DATASETS))
    args = parser.parse_args()
    answers = answer_texts(load_battles(DATASETS["kaggle"]))
    every_text = [text for text in np.concatenate([answers["response_a"], answers["response_b"]]) if text.strip()]
    texts = [text for text in every_text if read_exactly(text)]
    speed, agree = reader_rows(texts)
    tolerance_rows = []
    for data_name in args.data:
        measured = tolerance_losses(data_name)
        (base, base_s), (loose, loose_s) = (measured[tolerance] for tolerance in TOLERANCES)
        differences = np.subtract(loose, base)
        tolerance_rows.append(
            [
                data_name,
                float(np.mean(base)),
                float(np.mean(loose)),
                float(differences.mean()),
                ", ".join(f"{d:+.4f}" for d in differences),
                int((differences > 0).sum()),
                f"{base_s:.0f} / {loose_s:.0f}",
            ]
        )
    body = f"""## The lexical model's cost: its n-gram reader and its solver

Character 2-4-grams inside word boundaries, sublinear TF-IDF, min_df 2, fitted then applied to the
{len(texts):,} non-empty answers of the shared Kaggle rows without characters beyond 16 bits (the
other {len(every_text) - len(texts)}, mostly emoji, read those as U+FFFD in prefeat's reader); texts/s
counts both passes. Both readers give the same vocabulary and matrix on these texts: {"yes" if agree else "NO"}.

{table(["reader", "texts", "seconds", "texts/s"], speed)}

The logistic regression's stopping tolerance: the lexical model alone, default parameters, 5 folds
grouped by prompt (MT-Bench: by question) x 5 seeds, the same folds for both; seconds for all 25 fits at
1e-4 / 1e-3.

{table(TOLERANCE_HEADER, tolerance_rows)}
"""
    write_section("lexical-cost", body, "python benchmarks/bench_lexical.py " + " ".join(["--data", *args.data]))
    print(body)


if __name__ == "__main__":
    main()
