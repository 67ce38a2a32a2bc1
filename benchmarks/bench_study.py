"""The default study on the 1,000 shared Kaggle rows over 5 seeds, against prefeat 0.2's defaults seed by seed.

``experiments/run_all.py`` runs as a user runs it (default options, the rows without labels as the
test file), once per seed: the seed picks the grouped folds (``assign_folds(battles, 5, seed)``,
the folds bench_models.py scored prefeat 0.2 on), the samplers and the models' seeds. The feature
cache is shared by the seeds (features do not depend on the seed); each seed tunes its own studies
within the default 600 s budget, so tuning depends on this machine's speed: run it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import KAGGLE_HEAD, REPO, table, write_section

SEEDS = range(5)
# prefeat 0.2's default study on these rows: the stack of linear, XGBoost, CatBoost and HGB out of fold,
# folds of seeds 0-4 (BENCHMARKS.md, "Models on kaggle_train_head1000.csv", bench_models.py)
BEFORE = {"stack": [1.0242, 1.0336, 1.0332, 1.0302, 1.0315]}
TEST_COLUMNS = ["id", "prompt", "response_a", "response_b"]


def run_seed(seed: int, train: Path, test: Path, scratch: Path, keep: Path | None) -> tuple[dict, float]:
    """One default study; its log loss per model and blend, and its wall seconds."""
    out = (keep or scratch) / f"seed{seed}"
    command = [sys.executable, "experiments/run_all.py", "--train", str(train), "--test", str(test)]
    command += ["--out", str(out), "--storage", f"sqlite:///{scratch / 'optuna.db'}", "--seed", str(seed)]
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, env=os.environ | {"PREFEAT_CACHE": str(scratch / "cache")})
    seconds = time.perf_counter() - started
    results = json.loads((out / "results.json").read_text())["results"]
    return {row["model"]: row["log_loss"] for row in results}, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, help="keep each seed's run folder here (seed0, seed1, ...)")
    args = parser.parse_args()
    losses: dict[str, list[float]] = {}
    seconds = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        test = scratch / "test.csv"
        pd.read_csv(KAGGLE_HEAD)[TEST_COLUMNS].to_csv(test, index=False)  # the competition's test.csv columns
        for seed in SEEDS:
            by_model, wall = run_seed(seed, KAGGLE_HEAD, test, scratch, args.keep)
            for model, loss in by_model.items():
                losses.setdefault(model, []).append(loss)
            seconds.append(wall)
            print("seed", seed, round(wall), "s", {m: round(v, 4) for m, v in by_model.items()}, flush=True)
    rows = [[model, np.mean(values), np.std(values), *values] for model, values in losses.items()]
    stack, before = np.array(losses["stack"]), np.array(BEFORE["stack"])
    differences = stack - before
    seed_columns = [f"seed {seed}" for seed in SEEDS]
    body = f"""## The default study on the 1,000 Kaggle rows, 5 seeds

`experiments/run_all.py` with default options (prefeat 0.3: six families, five models, 30 trials and
600 s of tuning for the five), once per seed, out-of-fold log loss; the seed picks the grouped
folds, the same folds prefeat 0.2's default study was scored on (bench_models.py). The first seed
ran from an empty feature cache; wall seconds per seed: {", ".join(f"{s:.0f}" for s in seconds)}.

{table(["model", "mean", "std over seeds", *seed_columns], rows)}

Stack, this study minus prefeat 0.2's ({", ".join(f"{b:.4f}" for b in before)}), seed by seed:
{", ".join(f"{d:+.4f}" for d in differences)}; mean {differences.mean():+.4f}, better in
{int((differences < 0).sum())} of {len(differences)} seeds.
"""
    write_section("study-kaggle", body, "python benchmarks/bench_study.py")
    print(body)


if __name__ == "__main__":
    main()
