"""The competition at full size: the default study on 57,477 training and 25,000 test battles, 2 cores.

The workload is drawn from the 1,000 shared Kaggle rows with every prompt and answer made
distinct (``common.distinct_battles``): lengths, turns and label shares as in the real rows, no
cache hit and nothing tiling would let a featurizer skip. ``experiments/run_all.py`` runs as a
user would run it (default options, an empty feature cache, a new Optuna storage), then again
(warm cache, stored studies). Per part of the study (its ``timings.json``): wall seconds and the
peak resident memory of the whole process tree while that part ran, sampled every 0.2 s.

Labels are drawn afresh for each battle from a length-only model of the real rows, so the
boosters meet the real rows' style signal rather than ~57 labelled copies of each row to learn
(which, with copied labels, gave log loss 0.56 at 3,000 rows and trees that never stopped early).
The losses here therefore measure nothing about the competition; the timings are what counts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import COMPETITION_ROWS, KAGGLE_HEAD, REPO, distinct_battles, table, write_section

from prefeat import load_battles

TEST_ROWS = 25_000
RESULTS = REPO / "benchmarks" / "results" / "scale.json"  # every part of both runs, and the tuning, as measured
SAMPLE_SECONDS = 0.2


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB (0 once it is gone)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total / 1024


def run_sampled(command: list[str], env: dict) -> tuple[float, list[tuple[float, float]]]:
    """Run ``command``; return its wall seconds and (wall-clock time, tree RSS MB) samples."""
    samples: list[tuple[float, float]] = []
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=REPO)

    def sample():
        while process.poll() is None:
            samples.append((time.time(), tree_rss_mb(process.pid)))
            time.sleep(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if process.wait() != 0:
        raise SystemExit(f"the study failed: {' '.join(command)}")
    sampler.join()
    return time.perf_counter() - started, samples


def per_part(run_dir: Path, samples) -> list[dict]:
    parts = json.loads((run_dir / "timings.json").read_text())
    for part in parts:
        inside = [mb for at, mb in samples if part["start"] <= at <= part["end"]]
        part["peak_mb"] = max(inside, default=float("nan"))
    return parts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-rows", type=int, default=COMPETITION_ROWS)
    parser.add_argument("--test-rows", type=int, default=TEST_ROWS)
    args, study_options = parser.parse_known_args()  # anything else goes to run_all.py (e.g. --trials 2)
    real = load_battles(KAGGLE_HEAD)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        distinct_battles(real, args.train_rows, seed=0).to_csv(scratch / "train.csv", index=False)
        distinct_battles(real, args.test_rows, seed=1, labels=False).to_csv(scratch / "test.csv", index=False)
        env = os.environ | {"PREFEAT_CACHE": str(scratch / "cache")}
        runs = {}
        for label in ("cold", "warm"):
            command = [sys.executable, "experiments/run_all.py", "--train", str(scratch / "train.csv")]
            command += ["--test", str(scratch / "test.csv"), "--out", str(scratch / label)]
            command += ["--storage", f"sqlite:///{scratch / 'optuna.db'}", *study_options]
            seconds, samples = run_sampled(command, env)
            runs[label] = (seconds, max(mb for _, mb in samples), per_part(scratch / label, samples))
            tuning = {p["part"]: p for p in runs[label][2] if p["part"].startswith("tune ")}
            print(label, round(seconds), "s", {k: round(v["seconds"]) for k, v in tuning.items()}, flush=True)
        results = json.loads((scratch / "cold" / "results.json").read_text())["results"]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"runs": runs, "results": results}, indent=1))
    cold, warm = runs["cold"], runs["warm"]
    warm_parts = {part["part"]: part for part in warm[2]}
    rows = [
        [p["part"], p["seconds"], p["peak_mb"], warm_parts[p["part"]]["seconds"], warm_parts[p["part"]]["peak_mb"]]
        for p in cold[2]
    ]
    rows.append(["whole run (process wall time)", cold[0], cold[1], warm[0], warm[1]])
    tuned = [
        [r["model"], r["n_trials"], r["tune_s"], r.get("tuned_minus_default", float("nan")), r["log_loss"]]
        for r in results
        if "n_trials" in r
    ]
    body = f"""## The default study at full size ({args.train_rows:,} training, {args.test_rows:,} test battles)

`experiments/run_all.py` with default options on battles drawn from the shared Kaggle rows with
every text made distinct; cold = empty feature cache and new Optuna storage, warm = the same
command again. Peak MB is the resident memory of the whole process tree (joblib workers
included) while the part ran. Targets: cold <= 30 min, warm <= 5 min, peak <= 8 GiB.

{table(["part", "cold s", "cold peak MB", "warm s", "warm peak MB"], rows)}

Tuning at this size (cold run; `tuned - default` is the best trial's loss minus the default
trial's on the same folds; the texts are real rows reshuffled, so the losses say little about
the real competition):

{table(["model", "trials", "tune s", "tuned - default", "out-of-fold log loss"], tuned)}
"""
    options = " ".join(["--train-rows", str(args.train_rows), "--test-rows", str(args.test_rows), *study_options])
    write_section("scale", body, f"python benchmarks/bench_scale.py {options}")
    print(body)


if __name__ == "__main__":
    main()
