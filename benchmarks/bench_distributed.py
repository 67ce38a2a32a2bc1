"""Past one machine, measured on one: tuning workers sharing the cores, a study on 1 and 2 threads, and Dask.

``--part workers``: one booster tuned for a fixed number of trials (no time budget) on the 1,000
shared Kaggle rows by ``experiments/tune_worker.py`` processes sharing one study in a throwaway
PostgreSQL server: 1 worker on every core (``--n-jobs`` = cores) against ``cores`` workers on one
thread each (``--workers-here``), as trials per hour from launch to the last worker's exit.
``--part study``: the default study (every family, every model; trials bind, no time budget) on the
1,000 Kaggle rows, predicting the same rows as its test file, with ``--n-jobs 1`` and
``--n-jobs 2``, each from an empty cache: wall seconds, and whether every output is identical.
``--part dask``: the default featurizer on battles drawn from the shared rows with every text
made distinct, from an empty cache: in this process (``n_jobs`` = cores) and on a Dask
LocalCluster of ``cores`` one-thread workers.
The load average of the machine (``os.getloadavg``) is printed before and after each part:
timings taken while other work loads the cores are not valid.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from common import COMPETITION_ROWS, KAGGLE_HEAD, REPO, distinct_battles, load_battles_from, table, write_section

from prefeat import ArenaFeaturizer, load_battles
from prefeat.features.families import embedding
from prefeat.paths import default_cache_dir
from prefeat.study.postgres import create_database, throwaway_postgres
from prefeat.study.tuning import FINISHED
from prefeat.threads import available_cores

USER_CACHE = default_cache_dir()  # before the parts point PREFEAT_CACHE at their scratch folders


def with_static_model(cache: Path) -> Path:
    """An empty feature cache holding the distilled static model (distilled once, in the default cache)."""
    source = embedding.distilled_static_path(USER_CACHE)
    shutil.copytree(source, embedding.static_model_folder(cache), dirs_exist_ok=True)
    return cache


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def tune_with_workers(url: str, n_workers: int, model: str, trials: int, scratch: Path) -> tuple[float, int]:
    """Wall seconds from launch to the last worker's exit, and the trials finished in every study of the
    database (a worker tunes each study the run would: on 1,000 rows, one per half of the prompts)."""
    import optuna

    storage = create_database(url, f"workers_{n_workers}")
    command = [sys.executable, str(REPO / "experiments" / "tune_worker.py"), "--train", str(KAGGLE_HEAD)]
    command += ["--storage", storage, "--model", model, "--trials", str(trials), "--time-budget", "1e9"]
    command += ["--workers-here", str(n_workers)]
    started = time.perf_counter()
    workers = [
        subprocess.Popen([*command, "--worker", str(k), "--out", str(scratch / f"w{n_workers}-{k}")])
        for k in range(1, n_workers + 1)
    ]
    if any(worker.wait() != 0 for worker in workers):
        raise SystemExit("a tuning worker failed")
    seconds = time.perf_counter() - started
    studies = optuna.get_all_study_names(storage)
    finished = sum(
        len(optuna.load_study(study_name=name, storage=storage).get_trials(states=FINISHED)) for name in studies
    )
    return seconds, finished


def featurize_seconds(battles, cache: Path, apart: bool = False, **options) -> float:
    """Seconds of ``fit_transform``; ``apart``: ``fit`` then ``transform``, as ``fit_transform`` ran before
    it held one Dask cluster for both."""
    featurizer = ArenaFeaturizer(cache_dir=with_static_model(cache), **options)
    started = time.perf_counter()
    featurizer.fit(battles).transform(battles) if apart else featurizer.fit_transform(battles)
    return time.perf_counter() - started


def workers_part(args, scratch: Path) -> None:
    cores = available_cores()
    ArenaFeaturizer(show_progress=False).fit_transform(load_battles(KAGGLE_HEAD))  # the workers read the cache
    loads = [load()]
    with throwaway_postgres() as url:
        measured = {n: tune_with_workers(url, n, args.model, args.trials, scratch) for n in (1, cores)}
    loads.append(load())
    per_hour = {n: finished / seconds * 3600 for n, (seconds, finished) in measured.items()}
    names = {1: f"1 worker x {cores} threads", cores: f"{cores} workers x 1 thread"}
    rows = [[names[n], *measured[n], per_hour[n], per_hour[n] / per_hour[1]] for n in (1, cores)]
    body = f"""## Past one machine, measured on one ({cores} cores)

Tuning workers share one Optuna study in a throwaway PostgreSQL server (`prefeat.study.postgres`),
tuning {args.model} on the 1,000 shared Kaggle rows for {args.trials} trials in each study the run tunes
(on 1,000 rows, one per half of the prompts; no time budget), from launch to the last worker's exit
(each worker also loads the data and reads the features from the cache). Trials are counted in the
storage: workers that start a trial at the same moment can finish one more than asked.
`tune_worker.py --workers-here K` gives each of K workers on a machine `cores // K` threads
for every part (`prefeat.threads`), so K workers share the cores instead of fighting over them.
Before, every fit used 2 threads whatever ran beside it: two workers on these 2 cores ran 4
OpenMP threads that spin-waited against each other and were 5.6x slower than one worker (280.9 s
against 50.2 s for 8 trials). Load average (1/5/15 min) before and after: {loads[0]}, {loads[1]}.

{table(["workers x threads", "wall s", "trials finished", "trials per hour", "against 1 worker"], rows)}
"""
    write_section("distributed", body, f"python benchmarks/bench_distributed.py --part workers --model {args.model}")
    print(body)


def run_study(n_jobs: int, trials: int, scratch: Path) -> tuple[float, Path]:
    out = scratch / f"study-{n_jobs}"
    command = [sys.executable, str(REPO / "experiments" / "run_all.py"), "--train", str(KAGGLE_HEAD)]
    command += ["--test", str(KAGGLE_HEAD), "--out", str(out), "--trials", str(trials), "--time-budget", "1e9"]
    command += ["--n-jobs", str(n_jobs), "--storage", f"sqlite:///{scratch / f'optuna-{n_jobs}.db'}"]
    env = {**os.environ, "PREFEAT_CACHE": str(with_static_model(scratch / f"cache-{n_jobs}"))}
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, out


def same_outputs(first: Path, second: Path) -> tuple[bool, float]:
    """Whether the submissions and every out-of-fold prediction are equal, and their largest difference."""
    files = ["submission.csv", *(str(p.relative_to(first)) for p in sorted((first / "oof").glob("*.parquet")))]
    largest = 0.0
    for name in files:
        read = pd.read_csv if name.endswith(".csv") else pd.read_parquet
        a, b = read(first / name), read(second / name)
        numbers = a.select_dtypes("number").columns
        largest = max(largest, float((a[numbers] - b[numbers]).abs().to_numpy().max()))
        if not a.equals(b):
            return False, largest
    return True, largest


def study_part(args, scratch: Path) -> None:
    rows, outs, loads = [], {}, [load()]
    for n_jobs in (2, 1):
        seconds, outs[n_jobs] = run_study(n_jobs, args.study_trials, scratch)
        loads.append(load())
        rows.append([f"--n-jobs {n_jobs}", seconds])
    rows = rows[::-1]
    rows = [[*row, rows[0][1] / row[1]] for row in rows]
    identical, largest = same_outputs(outs[1], outs[2])
    verdict = "identical, bit for bit" if identical else f"not identical: largest difference {largest:.2e}"
    body = f"""## Threads: the default study on 1 and 2 threads (1,000 Kaggle rows)

`run_all.py --n-jobs N` is the one thread setting (`prefeat.threads`): the boosters' threads, the
OpenMP and BLAS pools (HistGradientBoosting, the logistic regressions), the text families'
processes and torch's threads all take it. The default study (every family, every model,
{args.study_trials} trial(s) per model and half so that trials bind, not time; the same 1,000 rows as the test
file so a submission is written), each run from an empty cache. Outputs on 1 and 2 threads
(`submission.csv` and every `oof/*.parquet`): {verdict}. Load average (1/5/15 min) before and
after each run: {", ".join(loads)}.

{table(["threads", "wall s", "speed-up"], rows)}
"""
    write_section(
        "threads", body, f"python benchmarks/bench_distributed.py --part study --study-trials {args.study_trials}"
    )
    print(body)


def dask_part(args, scratch: Path) -> None:
    cores = available_cores()
    battles = load_battles_from(distinct_battles(load_battles(KAGGLE_HEAD), args.rows, seed=0), scratch)
    loads = [load()]
    featurizing = {
        f"in process, n_jobs={cores}": featurize_seconds(battles, scratch / "here", n_jobs=cores),
        f"Dask LocalCluster, {cores} workers, one for fit and one for transform (before)": featurize_seconds(
            battles, scratch / "dask-apart", apart=True, scheduler="local"
        ),
        f"Dask LocalCluster, {cores} workers, one for both (now)": featurize_seconds(
            battles, scratch / "dask", scheduler="local"
        ),
    }
    loads.append(load())
    base = next(iter(featurizing.values()))
    rows = [[f"featurize {args.rows:,} distinct battles, {k}", v, base / v] for k, v in featurizing.items()]
    body = f"""## Featurizing on a Dask LocalCluster, measured on one machine ({cores} cores)

The default families on battles whose texts are all distinct, from an empty cache, in this process
(text families over joblib's processes, the embedding model on torch's threads) and on a
LocalCluster of one-thread workers (every family's partitions shipped to them). Speed-up is
against the first row. `fit_transform` used to start a LocalCluster for `fit` (the embedding
family learns its prompt topics there) and another for `transform`, each worker importing torch
and loading the embedding model anew; it now holds one for both. Load average (1/5/15 min) before
and after: {loads[0]}, {loads[1]}.

{table(["what", "wall s", "speed-up"], rows)}
"""
    write_section("dask", body, f"python benchmarks/bench_distributed.py --part dask --rows {args.rows}")
    print(body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["workers", "study", "dask"], action="append")
    parser.add_argument("--model", default="xgboost")
    parser.add_argument("--trials", type=int, default=12, help="tuning trials of the workers part")
    parser.add_argument("--study-trials", type=int, default=3, help="trials per model of the study part")
    parser.add_argument("--rows", type=int, default=COMPETITION_ROWS)
    args = parser.parse_args()
    parts = {"workers": workers_part, "study": study_part, "dask": dask_part}
    for part in args.part or list(parts):
        with tempfile.TemporaryDirectory() as scratch:
            os.environ["PREFEAT_CACHE"] = str(with_static_model(Path(scratch) / "cache"))
            print(f"{part}: load {load()}", flush=True)
            parts[part](args, Path(scratch))


if __name__ == "__main__":
    main()
