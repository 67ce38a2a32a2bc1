"""Does a shorter MiniLM input hurt the models? Default-parameter XGBoost and CatBoost, 3 seeds.

The 1,000 shared Kaggle rows, all five families, the MiniLM vectors cut at 256 (its own limit),
128 and 64 tokens; 5-fold StratifiedGroupKFold grouped by prompt per seed.
"""

from __future__ import annotations

import numpy as np
from common import KAGGLE_HEAD, table, write_section
from signal_check import featurize

from prefeat import load_battles
from prefeat.metrics import log_loss
from prefeat.study.folds import assign_folds
from prefeat.study.oof import cross_validate
from prefeat.study.plan import CVPlan

MODELS = ("xgboost", "catboost")
SEEDS = range(3)


def main() -> None:
    battles = load_battles(KAGGLE_HEAD)
    y = battles["label"].to_numpy(dtype=int)
    rows = []
    for max_length in (None, 128, 64):
        features = featurize(battles, embedding_max_length=max_length)
        row = [max_length or 256]
        for name in MODELS:
            losses = []
            for seed in SEEDS:
                folds = assign_folds(battles, 5, seed)
                plan = CVPlan(features, y, folds["fold"].to_numpy(), folds["group"].to_numpy(), seed)
                oof = cross_validate(name, None, plan).oof
                losses.append(log_loss(y, oof))
            row += [float(np.mean(losses)), float(np.std(losses))]
        rows.append(row)
        print(rows[-1], flush=True)
    header = ["MiniLM max tokens", "xgboost log loss", "std", "catboost log loss", "std"]
    body = f"""## MiniLM input length and model quality (1,000 shared Kaggle rows)

Default-parameter models on all five families, 5 folds grouped by prompt x 3 seeds:

{table(header, rows)}
"""
    write_section("embedding-length", body, "python benchmarks/embedding_length.py")


if __name__ == "__main__":
    main()
