"""The competition at full size: the default study on 57,477 training and 25,000 test battles, 2 cores.

The workload is drawn from the 1,000 shared Kaggle rows with every prompt and answer made
distinct (``common.distinct_battles``): lengths, turns and label shares as in the real rows, no
cache hit and nothing tiling would let a featurizer skip. ``experiments/run_all.py`` runs as a
user would run it (default options, an empty feature cache, a new Optuna storage), then again
(warm cache, stored studies). Per part of the study (its ``timings.json``): wall seconds and the
peak resident memory of the whole process tree while that part ran, sampled every 0.2 s.

``--runs cold,warm,identity`` then times the identity model (not in the default) at this size: the
same command with ``--models identity`` and the share of the tuning budget it would get as a sixth
model, on the warm feature cache. Its tuning takes that share out of the same joint budget, so a
cold six-model study costs the cold default run plus its out-of-fold fits, refit, prediction and SHAP.

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
from prefeat.models import DEFAULT_MODELS
from prefeat.study.tuning import DEFAULT_TIME_BUDGET, budget_share

TEST_ROWS = 25_000
RESULTS = REPO / "benchmarks" / "results" / "scale.json"  # every part of both runs, and the tuning, as measured
SAMPLE_SECONDS = 0.2
TUNED_ON = "a grouped subsample of 10,000 battles"  # the study's default (prefeat.study.TUNE_ROWS)
IDENTITY = "identity"


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


def measure(args, study_options: list[str]) -> dict:
    """The cold and warm runs: per run its wall seconds, peak MB and parts; the cold run's results."""
    real = load_battles(KAGGLE_HEAD)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        distinct_battles(real, args.train_rows, seed=0).to_csv(scratch / "train.csv", index=False)
        distinct_battles(real, args.test_rows, seed=1, labels=False).to_csv(scratch / "test.csv", index=False)
        env = os.environ | {"PREFEAT_CACHE": str(scratch / "cache")}
        runs = {}
        for label in args.runs.split(","):
            command = [sys.executable, "experiments/run_all.py", "--train", str(scratch / "train.csv")]
            command += ["--test", str(scratch / "test.csv"), "--out", str(scratch / label)]
            command += ["--storage", f"sqlite:///{scratch / 'optuna.db'}", *study_options]
            if label == IDENTITY:
                command += identity_options(study_options)
            seconds, samples = run_sampled(command, env)
            runs[label] = (seconds, max(mb for _, mb in samples), per_part(scratch / label, samples))
            tuning = {p["part"]: p for p in runs[label][2] if p["part"].startswith("tune ")}
            print(label, round(seconds), "s", {k: round(v["seconds"]) for k, v in tuning.items()}, flush=True)
        cold_run = json.loads((scratch / "cold" / "results.json").read_text())
        measured = {"runs": runs, "results": cold_run["results"], "study_options": study_options}
        if IDENTITY in runs:
            measured["identity_results"] = json.loads((scratch / IDENTITY / "results.json").read_text())["results"]
    args.results.parent.mkdir(exist_ok=True)
    args.results.write_text(json.dumps(measured, indent=1))
    return measured


def time_budget(study_options: list[str]) -> float:
    """The joint tuning budget the runs were given (``--time-budget``, else the study's default)."""
    if "--time-budget" in study_options:
        return float(study_options[study_options.index("--time-budget") + 1])
    return DEFAULT_TIME_BUDGET


def identity_options(study_options: list[str]) -> list[str]:
    """The identity model alone, with the share of the joint tuning budget it gets as one model more."""
    return ["--models", IDENTITY, "--time-budget", f"{time_budget(study_options) / (len(DEFAULT_MODELS) + 1):g}"]


def render_identity(measured: dict) -> str:
    """The identity run's parts that a six-model study adds to the default one, and their sum."""
    seconds, peak, parts = measured["runs"][IDENTITY]
    own = [p for p in parts if p["part"].endswith(f" {IDENTITY}") or p["part"] == "predict test"]
    rows = [[p["part"], figure(p["seconds"]), figure(p["peak_mb"])] for p in own]
    added = sum(p["seconds"] for p in own if not p["part"].startswith("tune "))
    cold = measured["runs"]["cold"][0]
    result = next((r for r in measured["identity_results"] if r["model"] == IDENTITY), {})
    options = measured.get("study_options", [])
    return f"""### The identity model at full size (not in the default)

The same battles with `--models identity` and the tuning share a sixth model gets
({identity_options(options)[-1]} s of the {time_budget(options):.0f} s), on the warm feature cache; whole run
{seconds / 60:.1f} min, peak {peak / 1024:.1f} GiB. Its tuning comes out of the joint budget, so a cold
six-model study costs the cold default run plus its out-of-fold fits, learning curve, refit, SHAP and
its share of the test prediction (below, "predict test" is the whole prediction of this one-model run,
features read from the cache): about {(cold + added) / 60:.1f} min ({cold / 60:.1f} + {added / 60:.1f}). Trials:
{result.get("n_trials", "none recorded")}; out-of-fold log loss {result.get("log_loss", float("nan")):.4f}
(the drawn labels carry no author signal: a timing, not a quality figure).

{table(["part", "seconds", "peak MB"], rows)}
"""


def figure(value: float) -> str:
    """Seconds and MB with one decimal (the shared table writer keeps four below 2)."""
    return f"{value:,.1f}"


def tuning_rows(results: list[dict], budget: float) -> list[list]:
    """Per tuned model: trials, its share of the budget (as the study gave it), seconds, overshoot, gain."""
    tuned = [r for r in results if r.get("n_trials") is not None]
    rows, spent = [], 0.0
    for index, r in enumerate(tuned):
        share = budget_share(budget, spent, len(tuned) - index)
        rows.append(
            [
                r["model"],
                r["n_trials"],
                figure(share),
                figure(r["tune_s"]),
                figure(r["tune_s"] - share),
                figure(r["tune_fold_s"]) if "tune_fold_s" in r else "not recorded",
                r.get("tuned_minus_default", float("nan")),
                r["log_loss"],
            ]
        )
        spent += r["tune_s"]
    return rows


def render(measured: dict, train_rows: int, test_rows: int, tuned_on: str = TUNED_ON) -> str:
    runs = measured["runs"]
    (cold_s, cold_peak, cold_parts), (warm_s, warm_peak, warm_parts) = runs["cold"], runs.get("warm", (0, 0, []))
    warm_by_part = {part["part"]: part for part in warm_parts}
    rows = []
    for part in cold_parts:
        warm = warm_by_part.get(part["part"])
        warm_cells = [figure(warm["seconds"]), figure(warm["peak_mb"])] if warm else ["read from the fit cache", ""]
        rows.append([part["part"], figure(part["seconds"]), figure(part["peak_mb"]), *warm_cells])
    rows.append(["whole run (process wall time)", *map(figure, (cold_s, cold_peak, warm_s, warm_peak))])
    if not warm_parts:  # a cold run alone
        rows = [[*row[:3], "", ""] for row in rows]
    budget = time_budget(measured.get("study_options", []))
    tuning_header = ["model", "trials", "share s", "tune s", "over share s", "fold fit s", "tuned - default"]
    tuning_header.append("out-of-fold log loss")
    study = "The default study" if tuned_on == TUNED_ON else f"The study tuned on {tuned_on}"
    measured_runs = f"Cold: {cold_s / 60:.1f} min, peak: {cold_peak / 1024:.1f} GiB (no warm run)."
    if warm_parts:
        measured_runs = (
            f"Cold: {cold_s / 60:.1f} min, warm: {warm_s / 60:.1f} min, "
            f"peak: {max(cold_peak, warm_peak) / 1024:.1f} GiB."
        )
    return f"""## {study} at full size ({train_rows:,} training, {test_rows:,} test battles)

`experiments/run_all.py` with default options on battles drawn from the shared Kaggle rows with
every text made distinct; cold = empty feature cache and new Optuna storage, warm = the same
command again. Peak MB is the resident memory of the whole process tree (joblib workers
included) while the part ran. Targets: cold <= 30 min, warm <= 5 min, peak <= 8 GiB.
{measured_runs}

{table(["part", "cold s", "cold peak MB", "warm s", "warm peak MB"], rows)}

Tuning at this size (cold run; trials run on {tuned_on}; the share is
what the study gave the model of the {budget:.0f} s budget, and "over share" how far it ran
past it, which stops a trial at the first fold that ends after the deadline (target: by at most one
fold fit, the trials' median "fold fit s"); `tuned - default` is
the best trial's loss minus the default trial's on the same folds; the texts are real rows
reshuffled and the labels drawn from a length-only model, so the losses say little about the
real competition):

{table(tuning_header, tuning_rows(measured["results"], budget))}
"""


def compare_tuning(measured: dict, baseline: dict) -> str:
    """Per model, this run's tuning and out-of-fold loss against the baseline run's (same battles and folds)."""
    before = {r["model"]: r for r in baseline["results"]}
    rows = []
    for r in measured["results"]:
        b = before.get(r["model"])
        if b is None or "log_loss" not in r:
            continue
        trials = [r.get("n_trials", ""), b.get("n_trials", "")]
        rows.append(
            [r["model"], *trials, r["log_loss"], b["log_loss"], r["log_loss"] - b["log_loss"], b.get("fold_std", "")]
        )
    header = [
        "model",
        "trials",
        "trials (baseline)",
        "log loss",
        "log loss (baseline)",
        "difference",
        "baseline fold std",
    ]
    return f"""Out of fold against the baseline run ({RESULTS.name}: the default study, same battles and folds):

{table(header, rows)}
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-rows", type=int, default=COMPETITION_ROWS)
    parser.add_argument("--test-rows", type=int, default=TEST_ROWS)
    parser.add_argument("--from-results", action="store_true", help=f"rewrite the section from {RESULTS.name}")
    parser.add_argument("--runs", default="cold,warm", choices=["cold,warm", "cold", "cold,warm,identity"])
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the measured parts are written")
    args, study_options = parser.parse_known_args()  # anything else goes to run_all.py (e.g. --tune-rows 0)
    measured = json.loads(args.results.read_text()) if args.from_results else measure(args, study_options)
    tune_rows = study_options[study_options.index("--tune-rows") + 1] if "--tune-rows" in study_options else None
    tuned_on = TUNED_ON if tune_rows is None else "every battle" if tune_rows == "0" else f"about {tune_rows} battles"
    body = render(measured, args.train_rows, args.test_rows, tuned_on)
    if IDENTITY in measured["runs"]:
        body += "\n" + render_identity(measured)
    options = ["--train-rows", str(args.train_rows), "--test-rows", str(args.test_rows), *study_options]
    if args.runs != "cold,warm" or args.results != RESULTS:
        options += ["--runs", args.runs]
    section = "scale"
    if args.results != RESULTS:  # a variant of the default run: compared with it, in a section of its own
        body += "\n" + compare_tuning(measured, json.loads(RESULTS.read_text()))
        options += ["--results", str(args.results.resolve().relative_to(REPO))]
        section = f"scale-{args.results.stem}"
    write_section(section, body, f"python benchmarks/bench_scale.py {' '.join(options)}")
    print(body)


if __name__ == "__main__":
    main()
