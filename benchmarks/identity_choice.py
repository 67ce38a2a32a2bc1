"""Does the identity model pay? The default stack with and without it, paired seeds, three shared sets,
and its learning curve on the Kaggle rows.

5 folds grouped by prompt (MT-Bench: by question) x 5 seeds, the same folds for both stacks, so each
seed gives a paired difference. Default parameters throughout (no tuning: nothing is chosen on the rows
that score), the stacker cross-fitted over the same folds (``stack_out_of_fold``). The identity model
is fitted inside each fold like any other, so the scored battles' votes and model names reach neither
its authorship nor its strengths.

The curve repeats the pair on grouped subsamples of the Kaggle rows (about 250 and 500 battles, a new
subsample per seed) beside the 1,000. Each (set, size, seed) is stored in
``benchmarks/results/identity_choice.json`` as it finishes; a rerun measures only what is missing.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from common import (
    COMPETITION_ROWS,
    DATASETS,
    REPO,
    distinct_battles,
    fold_groups,
    load_battles_from,
    table,
    write_section,
)
from feature_choice import paired_row

from prefeat import ArenaFeaturizer, load_battles
from prefeat.data.text import answer_texts
from prefeat.features.settings import DEFAULTS
from prefeat.metrics import log_loss
from prefeat.models import DEFAULT_MODELS, MODELS
from prefeat.models.stacking import stack_out_of_fold
from prefeat.study.folds import assign_folds, prompt_groups
from prefeat.study.oof import cross_validate
from prefeat.study.plan import CVPlan, grouped_subsample
from prefeat.threads import limited_threads

SEEDS = range(5)
CURVE_SIZES = (250, 500)
RESULTS = REPO / "benchmarks" / "results" / "identity_choice.json"


def seed_losses(battles, features, texts, groups, seed: int) -> dict[str, float]:
    """Out-of-fold log loss of the default stack, the stack with the identity model, and the identity model."""
    y = battles["label"].to_numpy(dtype=int)
    assigned = assign_folds(battles, 5, seed, groups=groups)
    folds, group = assigned["fold"].to_numpy(), assigned["group"].to_numpy()

    def oof(name):
        inputs = texts if MODELS[name].reads == "texts" else features
        return cross_validate(name, None, CVPlan(inputs, y, folds, group, seed)).oof

    default = [oof(name) for name in DEFAULT_MODELS]
    identity = oof("identity")
    return {
        "default stack": log_loss(y, stack_out_of_fold(default, y, folds)),
        "default stack + identity": log_loss(y, stack_out_of_fold([*default, identity], y, folds)),
        "identity model alone": log_loss(y, identity),
    }


def measure(stored: dict, key: str, battles, features, groups) -> None:
    texts = answer_texts(battles)
    for seed in SEEDS:
        if str(seed) in stored.get(key, {}):
            continue
        started = time.perf_counter()
        stored.setdefault(key, {})[str(seed)] = seed_losses(battles, features.loc[texts.index], texts, groups, seed)
        print(key, seed, stored[key][str(seed)], f"{time.perf_counter() - started:.0f} s", flush=True)
        RESULTS.write_text(json.dumps(stored, indent=1))


def curve_battles(battles, size: int, seed: int):
    """A grouped subsample of about ``size`` battles (whole prompts), drawn afresh per seed."""
    return battles[grouped_subsample(prompt_groups(battles), size, seed)].reset_index(drop=True)


def full_size_seconds(train_rows: int, test_rows: int) -> dict[str, float]:
    """Wall seconds of the identity model's part of the default study at full size, on one thread: its five
    out-of-fold fits, its refit on every battle, and its prediction of the test battles (distinct battles
    drawn from the Kaggle rows, which keep their model names)."""
    import tempfile

    real = load_battles(DATASETS["kaggle"])
    with tempfile.TemporaryDirectory() as scratch:
        train = load_battles_from(distinct_battles(real, train_rows, seed=0), scratch)
        test = answer_texts(load_battles_from(distinct_battles(real, test_rows, seed=1, labels=False), scratch))
    texts, y = answer_texts(train), train["label"].to_numpy(dtype=int)
    assigned = assign_folds(train, 5, 0)
    plan = CVPlan(texts, y, assigned["fold"].to_numpy(), assigned["group"].to_numpy())
    seconds = {}
    started = time.perf_counter()
    cross_validate("identity", None, plan)
    seconds["out-of-fold fits (5)"] = time.perf_counter() - started
    started = time.perf_counter()
    model = MODELS["identity"]().fit(texts, y, groups=plan.groups)
    seconds["refit on every battle"] = time.perf_counter() - started
    started = time.perf_counter()
    model.predict_proba(test)
    seconds[f"predict {test_rows:,} battles"] = time.perf_counter() - started
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", nargs="+", choices=[*DATASETS, "curve", "scale"], default=[*DATASETS, "curve"])
    parser.add_argument("--test-rows", type=int, default=25_000, help="test battles of the full-size timing")
    args = parser.parse_args()
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    RESULTS.parent.mkdir(exist_ok=True)
    with limited_threads(1):
        if "scale" in args.data:
            stored["scale"] = full_size_seconds(COMPETITION_ROWS, args.test_rows)
            print("scale", stored["scale"], flush=True)
            RESULTS.write_text(json.dumps(stored, indent=1))
        for data_name in [name for name in args.data if name != "scale"]:
            source = "kaggle" if data_name == "curve" else data_name
            battles = load_battles(DATASETS[source])
            featurizer = ArenaFeaturizer.from_settings(DEFAULTS, show_progress=False).set_output(transform="pandas")
            features = featurizer.fit_transform(battles).set_axis(battles["id"].to_numpy())
            if data_name != "curve":
                measure(stored, data_name, battles, features, fold_groups(data_name, battles))
                continue
            for size in CURVE_SIZES:  # the featurizer's learned parts stay those of the 1,000 rows' texts
                for seed in SEEDS:
                    key = f"kaggle-{size}"
                    if str(seed) in stored.get(key, {}):
                        continue
                    subset = curve_battles(battles, size, seed)
                    stored.setdefault(key, {})[str(seed)] = seed_losses(
                        subset, features.loc[subset["id"].to_numpy()], answer_texts(subset), None, seed
                    )
                    print(key, seed, stored[key][str(seed)], flush=True)
                    RESULTS.write_text(json.dumps(stored, indent=1))
    write_report(stored)


def write_report(stored: dict) -> None:
    rows = []
    for key, by_seed in stored.items():
        if key == "scale":
            continue
        seeds = sorted(by_seed, key=int)
        losses = {label: [by_seed[seed][label] for seed in seeds] for label in by_seed[seeds[0]]}
        label = f"{key} ({len(seeds)} seeds)"
        rows.append(
            paired_row(label, "default stack + identity", losses["default stack + identity"], losses["default stack"])
        )
        rows.append([label, "default stack", float(np.mean(losses["default stack"])), 0.0, "—", "—"])
        rows.append([label, "identity model alone", float(np.mean(losses["identity model alone"])), "", "", ""])
    body = f"""## The identity model: the default stack with and without it (paired seeds, three shared sets)

{__doc__.split(chr(10), 2)[2].strip()}

"minus default" below zero means that adding the identity model lowers the stack's log loss.

{table(["data", "stack", "log loss", "minus default", "seed by seed", "seeds worse"], rows)}
"""
    if "scale" in stored:
        timing = [[part, f"{seconds:.0f}"] for part, seconds in stored["scale"].items()]
        body += f"""
Its cost at full size ({COMPETITION_ROWS:,} training battles, distinct, drawn from the Kaggle rows with their
model names; one thread; a fit learns from at most 10,000 battles, `max_rows`):

{table(["part", "seconds"], timing)}
"""
    write_section(
        "identity-choice", body, f"python benchmarks/identity_choice.py --data {' '.join(measured_parts(stored))}"
    )


def measured_parts(stored: dict) -> list[str]:
    """The ``--data`` that measures every part stored (runs measure only what is missing, so the section's
    command is the one that makes all of it, not the last run's)."""
    sets = [name for name in DATASETS if name in stored]
    curve = ["curve"] if any(f"kaggle-{size}" in stored for size in CURVE_SIZES) else []
    return [*sets, *curve, *(["scale"] if "scale" in stored else [])]


if __name__ == "__main__":
    main()
