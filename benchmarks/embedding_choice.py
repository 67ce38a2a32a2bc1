"""Which embedding model is the default? MiniLM against its static distillation, paired by seed.

Every shared set with ties and enough rows: the 1,000 Kaggle rows, MT-Bench's 1,751 expert votes
(grouped by question) and PandaLM. All five families with each embedding variant; default-parameter
linear model and CatBoost and their average, 5 folds x 5 seeds (the same folds for every variant),
so each seed gives a paired difference. Also the embedding time per text on each set.
"""

from __future__ import annotations

import time

import numpy as np
from common import DATASETS, fold_groups, table, write_section
from signal_check import featurize

from prefeat import load_battles
from prefeat.features.families.embedding import STATIC_MODEL
from prefeat.metrics import log_loss
from prefeat.models.stacking import average
from prefeat.study.folds import assign_folds
from prefeat.study.oof import cross_validate
from prefeat.study.plan import CVPlan

VARIANTS = {
    "minilm (256 tokens)": {"embedding_model": "minilm"},
    "minilm (64 tokens)": {"embedding_model": "minilm", "embedding_max_length": 64},
    "minilm-static": {"embedding_model": STATIC_MODEL},
}
REFERENCE = "minilm (256 tokens)"
MODELS = ("linear", "catboost")
SEEDS = range(5)


def seed_losses(features, battles, groups) -> dict[str, list[float]]:
    y = battles["label"].to_numpy(dtype=int)
    losses: dict[str, list[float]] = {name: [] for name in (*MODELS, "average")}
    for seed in SEEDS:
        folds = assign_folds(battles, 5, seed, groups=groups)
        fold, group = folds["fold"].to_numpy(), folds["group"].to_numpy()
        oofs = [cross_validate(name, None, CVPlan(features, y, fold, group, seed)).oof for name in MODELS]
        for name, oof in zip((*MODELS, "average"), [*oofs, average(oofs)], strict=True):
            losses[name].append(log_loss(y, oof))
    return losses


def main() -> None:
    rows, speed_rows = [], []
    for data_name in ("kaggle", "mtbench", "pandalm"):
        battles = load_battles(DATASETS[data_name])
        groups = fold_groups(data_name, battles)
        per_variant = {}
        for label, kwargs in VARIANTS.items():
            started = time.perf_counter()
            featurize(battles, families=["embedding"], **kwargs)
            seconds = time.perf_counter() - started
            speed_rows.append([data_name, label, seconds, 3 * len(battles) / seconds])
            per_variant[label] = seed_losses(featurize(battles, **kwargs), battles, groups)
            print(data_name, label, {k: np.round(v, 4).tolist() for k, v in per_variant[label].items()}, flush=True)
        for label, losses in per_variant.items():
            for name, values in losses.items():
                paired = np.array(values) - np.array(per_variant[REFERENCE][name])
                is_reference = label == REFERENCE
                by_seed = "—" if is_reference else ", ".join(f"{d:+.4f}" for d in paired)
                better = "—" if is_reference else f"{int((paired < 0).sum())} of {len(paired)}"
                rows.append([data_name, label, name, float(np.mean(values)), float(np.std(values)), by_seed, better])
    body = f"""## Default embedding: MiniLM against its static distillation (paired seeds, three shared sets)

All five families with each embedding variant; default-parameter models, 5 folds grouped by
prompt (MT-Bench: by question) x 5 seeds, the same folds for every variant. "minus MiniLM" is the
variant's log loss minus that of MiniLM at 256 tokens on the same seed.

{table(["data", "embedding", "model", "log loss", "std", "minus MiniLM, seed by seed", "better in"], rows)}

Embedding time (first pass, empty cache; the rate counts three sides a battle; the first
minilm-static row includes distilling the static model once, about a minute here):

{table(["data", "embedding", "seconds", "sides/s"], speed_rows)}
"""
    write_section("embedding-choice", body, "python benchmarks/embedding_choice.py")


if __name__ == "__main__":
    main()
