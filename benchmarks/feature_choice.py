"""Which features and models pay? A drop-one table, and the new default stack against the previous one.

Three shared sets (the 1,000 Kaggle rows, MT-Bench's expert votes grouped by question, PandaLM),
5 folds x 5 seeds, the same folds for every variant, so each seed gives a paired difference.
Default parameters throughout (no tuning), so that the comparison is of inputs, not of tuning luck.

- Stack against stack: the previous default (five families, embedding cosines only, the linear
  model and the three boosters) against the new one (the content family, the embedding projection
  and prompt topics, and the lexical model as a fifth input).
- Drop-one: the stack of the linear model, XGBoost and the lexical model on every candidate
  column (the default's and the embedding projection's), then each family, the projection, the
  topics, and the lexical model removed in turn. Dropping a part
  that pays makes the loss go up. XGBoost stands in for the three boosters to keep the table cheap.

Each set's per-seed losses are kept in ``benchmarks/results/feature_choice.json``, so sets can be
run separately (``--data mtbench``) and the tables are written from every set measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

import numpy as np
import pandas as pd
from common import DATASETS, REPO, fold_groups, table, write_section

from prefeat import ArenaFeaturizer, load_battles
from prefeat.data.text import answer_texts
from prefeat.features.columns import family_of
from prefeat.features.settings import DEFAULTS, FeaturizerSettings
from prefeat.metrics import log_loss
from prefeat.models.stacking import stack_out_of_fold
from prefeat.study.folds import assign_folds
from prefeat.study.oof import cross_validate
from prefeat.study.plan import CVPlan

SEEDS = range(5)
RESULTS = REPO / "benchmarks" / "results" / "feature_choice.json"
PREVIOUS = FeaturizerSettings(
    families=("length", "readability", "formatting", "refusal", "embedding"), embedding_components=0, prompt_topics=0
)
CANDIDATES = dataclasses.replace(DEFAULTS, embedding_components=8)  # the default and every part on trial
PREVIOUS_MODELS = ("linear", "xgboost", "catboost", "hgb")
NEW_MODELS = (*PREVIOUS_MODELS, "lexical")
DROP_MODELS = ("linear", "xgboost", "lexical")
PARTS = {
    **{f"family {name}": (lambda column, name=name: family_of(column) == name) for name in DEFAULTS.families},
    "embedding projection": lambda column: column.startswith("embedding__proj"),
    "prompt topics": lambda column: column.startswith("embedding__topic"),
}


def variant_columns(columns: list[str]) -> dict[str, list[str]]:
    """Every column, then every column but one part's."""
    variants = {"all": columns}
    for part, belongs in PARTS.items():
        variants[f"without {part}"] = [column for column in columns if not belongs(column)]
    return variants


def seed_losses(battles: pd.DataFrame, features: pd.DataFrame, groups, seed: int, drop_one: bool) -> dict[str, float]:
    """Out-of-fold log loss of every stack on one seed's folds (the drop-one stacks only if ``drop_one``)."""
    y = battles["label"].to_numpy(dtype=int)
    assigned = assign_folds(battles, 5, seed, groups=groups)
    folds, group = assigned["fold"].to_numpy(), assigned["group"].to_numpy()

    def oof(name, X):
        return cross_validate(name, None, CVPlan(X, y, folds, group, seed)).oof

    def stack(oofs):
        return log_loss(y, stack_out_of_fold(oofs, y, folds))

    lexical = oof("lexical", answer_texts(battles))
    previous, default = features[PREVIOUS.columns()], features[DEFAULTS.columns()]
    losses = {
        "previous default stack": stack([oof(name, previous) for name in PREVIOUS_MODELS]),
        "new default stack": stack([*(oof(name, default) for name in PREVIOUS_MODELS), lexical]),
        "lexical model alone": log_loss(y, lexical),
    }
    if not drop_one:
        return losses
    for label, columns in variant_columns(list(features.columns)).items():
        linear_xgboost = [oof(name, features[columns]) for name in DROP_MODELS[:2]]
        losses[f"drop-one: {label}"] = stack([*linear_xgboost, lexical])
        if label == "all":
            losses["drop-one: without the lexical model"] = stack(linear_xgboost)
    return losses


def paired_row(data_name: str, label: str, values: list[float], reference: list[float]) -> list:
    differences = np.array(values) - np.array(reference)
    by_seed = ", ".join(f"{d:+.4f}" for d in differences)
    return [
        data_name,
        label,
        float(np.mean(values)),
        float(np.mean(differences)),
        by_seed,
        int((differences > 0).sum()),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--stacks-only", action="store_true", help="measure the two default stacks, keep the drop-one")
    args = parser.parse_args()
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for data_name in args.data:
        battles = load_battles(DATASETS[data_name])
        featurizer = ArenaFeaturizer.from_settings(CANDIDATES, show_progress=False).set_output(transform="pandas")
        features = featurizer.fit_transform(battles)
        groups = fold_groups(data_name, battles)
        per_seed = [seed_losses(battles, features, groups, seed, not args.stacks_only) for seed in SEEDS]
        measured = {label: [seed[label] for seed in per_seed] for label in per_seed[0]}
        stored[data_name] = stored.get(data_name, {}) | measured
        print(data_name, {label: np.round(values, 4).tolist() for label, values in stored[data_name].items()})
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(stored, indent=1))
    stack_rows, drop_rows = [], []
    for data_name, losses in stored.items():
        previous, new = losses["previous default stack"], losses["new default stack"]
        stack_rows.append(paired_row(data_name, "new default stack", new, previous))
        stack_rows.append([data_name, "previous default stack", float(np.mean(previous)), 0.0, "—", "—"])
        stack_rows.append([data_name, "lexical model alone", float(np.mean(losses["lexical model alone"])), "", "", ""])
        reference = losses["drop-one: all"]
        for label, values in losses.items():
            if label.startswith("drop-one: ") and label != "drop-one: all":
                drop_rows.append(paired_row(data_name, label.removeprefix("drop-one: "), values, reference))
        drop_rows.append([data_name, "all (reference)", float(np.mean(reference)), 0.0, "—", "—"])
    stack_table = table(["data", "stack", "log loss", "minus previous", "seed by seed", "seeds worse"], stack_rows)
    drop_table = table(["data", "variant", "log loss", "minus all", "seed by seed", "seeds worse than all"], drop_rows)
    body = f"""## Features that pay: drop-one and the new default stack (paired seeds, three shared sets)

Default parameters, no tuning; 5 folds grouped by prompt (MT-Bench: by question) x 5 seeds, the
same folds for every row; each stack is scored by its own cross-validation over those folds.

The new default (content family, prompt topics, the lexical model as a fifth input; the embedding
projection left out, as the drop-one below decided) against the previous default (five families,
embedding cosines only, four models):

{stack_table}

Drop-one, on the stack of the linear model, XGBoost and the lexical model: each part removed in
turn. "minus all" above zero means that removing the part makes the loss worse, so the part pays.

{drop_table}
"""
    command = " ".join(["python benchmarks/feature_choice.py", *sys.argv[1:]])
    write_section("feature-choice", body + f"\nEach set's rows come from its last run ({RESULTS.name}).\n", command)


if __name__ == "__main__":
    main()
