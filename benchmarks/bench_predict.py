"""Predicting the hidden test's size with a saved default pipeline: 25,000 battles on 2 cores.

A default pipeline (default featurizer settings, the four models at their default parameters, the
stacker) is trained on the 1,000 shared Kaggle rows and saved. Then ``experiments/predict.py``
runs in a fresh process, from an empty feature cache, on 25,000 battles drawn from the real rows
with every text made distinct, as Kaggle would run it: load the pipeline, featurize, predict,
write the submission. Wall seconds and peak resident memory of that process.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from common import KAGGLE_HEAD, REPO, distinct_battles, peak_memory_mb, table, write_section

from prefeat import FeaturizerSettings, PreferencePipeline, load_battles
from prefeat.models import MODELS, make_model
from prefeat.models.stacking import Stacker

TEST_ROWS = 25_000


def train_default_pipeline(folder: Path, cache: Path) -> Path:
    battles = load_battles(KAGGLE_HEAD)
    pipeline = PreferencePipeline(FeaturizerSettings(), {}, Stacker(), cache_dir=cache, show_progress=False)
    features = pipeline.features(battles)
    y = battles["label"].to_numpy(dtype=int)
    pipeline.models = {name: make_model(name).fit(features, y) for name in MODELS}
    pipeline.stacker.fit([model.predict_proba(features) for model in pipeline.models.values()], y)
    return pipeline.save(folder / "pipeline")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=TEST_ROWS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        pipeline = train_default_pipeline(scratch, scratch / "training-cache")
        test = distinct_battles(load_battles(KAGGLE_HEAD), args.rows, seed=1, labels=False)
        test.to_csv(scratch / "test.csv", index=False)
        out = scratch / "submission.csv"
        command = [sys.executable, str(REPO / "experiments" / "predict.py"), "--pipeline", str(pipeline)]
        command += ["--test", str(scratch / "test.csv"), "--out", str(out), "--cache-dir", str(scratch / "cache")]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - started
        memory = peak_memory_mb(pid_children=True)
        rows = len(pd.read_csv(out))
        size_mb = sum(f.stat().st_size for f in pipeline.rglob("*") if f.is_file()) / 1e6
    assert rows == args.rows
    result = table(
        ["test battles", "wall s", "minutes", "battles/s", "peak MB", "pipeline folder MB"],
        [[rows, seconds, seconds / 60, rows / seconds, memory, size_mb]],
    )
    body = f"""## Predicting {args.rows:,} battles with a saved default pipeline

`experiments/predict.py` in a fresh process from an empty feature cache: load and check the
pipeline, featurize every battle (all five families, {FeaturizerSettings().embedding_model}
embeddings; every text distinct, drawn from the 1,000 shared Kaggle rows), the four models and
the stacker, write the submission. Target: 10 minutes on 2 cores (Kaggle's CPU notebook has 4).

{result}
"""
    write_section("predict", body, f"python benchmarks/bench_predict.py --rows {args.rows}")
    print(body)


if __name__ == "__main__":
    main()
