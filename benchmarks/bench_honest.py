"""What scoring on the rows that tuned hid: the same-folds figures against the honest ones, and the choices redone.

Three shared sets (the 1,000 Kaggle rows, MT-Bench's expert votes grouped by question, PandaLM),
5 folds x 5 seeds. For each seed and model:

- same folds (the old procedure): tuned on every row's folds, then scored out of fold on the same rows;
- honest (the study's procedure, ``prefeat.study.plan.tuning_split``): tuned on one half of the prompts,
  scoring the other half, and the other way round, so every row is scored by parameters that its label
  did not choose.

Both tune with the same number of trials and no time budget (so the numbers repeat), and both stacks are
scored by their own cross-validation over the same folds. Then the two choices that were made on these
very rows are redone so that the rows that choose are not the rows that report, each set in turn held out:

- the stacker's shrinkage: chosen on the other two sets' honest out-of-fold predictions, reported on the
  held-out set;
- the default families (drop-one, from ``feature_choice.py``'s per-seed results, default parameters): a
  part stays in the default when removing it made the other two sets' stacks worse on average.

Per-set results are kept in ``benchmarks/results/honest_<set>.json``; the tables are written from every
set measured.
"""

from __future__ import annotations

import argparse
import json
import tempfile

import numpy as np
from common import DATASETS, REPO, fold_groups, table, write_section
from signal_check import featurize

from prefeat import load_battles
from prefeat.data.text import answer_texts
from prefeat.metrics import log_loss
from prefeat.models import DEFAULT_MODELS, MODELS
from prefeat.models.stacking import SHRINKAGE, stack_out_of_fold
from prefeat.study.folds import assign_folds
from prefeat.study.oof import cross_validate
from prefeat.study.plan import CVPlan, tuning_split
from prefeat.study.runner import honest_fits
from prefeat.study.tuning import tune
from prefeat.threads import limited_threads

SEEDS = 5
RESULTS = REPO / "benchmarks" / "results"  # honest_<set>.json, one per set, so sets can run at once
FEATURE_CHOICE = REPO / "benchmarks" / "results" / "feature_choice.json"
SHRINKAGES = (0.0, 10.0, 30.0, 100.0, 250.0, 1000.0, 3000.0)


def tuned_params(name: str, plan: CVPlan, run_dir: str, trials: int) -> dict:
    storage = f"sqlite:///{run_dir}/optuna.db"
    return tune(name, plan, run_dir, trials, None, storage=storage, show_progress=False).params


def measure_seed(battles, inputs: dict, groups, seed: int, trials: int, models: list[str]) -> dict:
    """Per model: same-folds and honest log loss; the two stacks; the stack's loss per shrinkage."""
    y = battles["label"].to_numpy(dtype=int)
    assigned = assign_folds(battles, 5, seed, groups=groups)
    folds, group = assigned["fold"].to_numpy(), assigned["group"].to_numpy()
    split = tuning_split(group, None, seed)
    losses, oofs = {"same folds": {}, "honest": {}}, {"same folds": [], "honest": []}
    with tempfile.TemporaryDirectory() as run_dir:
        for name in models:
            plan = CVPlan(inputs[MODELS[name].reads], y, folds, group, seed)
            same = cross_validate(name, tuned_params(name, plan, run_dir, trials), plan).oof
            halves = [tuned_params(name, plan.subset(rows), run_dir, trials) for rows in split.tune]
            honest = honest_fits(name, halves, plan, split, show_progress=False).oof
            for procedure, oof in (("same folds", same), ("honest", honest)):
                losses[procedure][name] = log_loss(y, oof)
                oofs[procedure].append(oof)
            print(seed, name, {p: round(v[name], 4) for p, v in losses.items()}, flush=True)
    for procedure, probas in oofs.items():
        losses[procedure]["stack"] = log_loss(y, stack_out_of_fold(probas, y, folds))
    shrinkage = {str(s): log_loss(y, stack_out_of_fold(oofs["honest"], y, folds, shrinkage=s)) for s in SHRINKAGES}
    return {"losses": losses, "shrinkage": shrinkage}


def measure(data_name: str, trials: int, models: list[str], seeds: int) -> None:
    """The seeds of one set, each saved as soon as it is measured; a rerun with the same models and trials
    resumes after the seeds already stored (a stopped run keeps its seeds)."""
    battles = load_battles(DATASETS[data_name])
    inputs = {"features": featurize(battles), "texts": answer_texts(battles)}
    groups = fold_groups(data_name, battles)
    path = RESULTS / f"honest_{data_name}.json"
    per_seed = json.loads(path.read_text()) if path.exists() else []
    if any(seed.get("models") != models or seed.get("trials") != trials for seed in per_seed):
        raise SystemExit(f"{path} holds seeds measured with other models or trials: move it away first")
    for seed in range(len(per_seed), seeds):
        measured = measure_seed(battles, inputs, groups, seed, trials, models)
        per_seed.append({"models": models, "trials": trials, **measured})
        path.write_text(json.dumps(per_seed, indent=1))


def ranking(per_seed: list[dict], procedure: str) -> list[str]:
    names = [*per_seed[0]["models"], "stack"]
    means = {name: np.mean([seed["losses"][procedure][name] for seed in per_seed]) for name in names}
    return sorted(names, key=means.get)


def procedure_rows(results: dict) -> list[list]:
    rows = []
    for data_name, per_seed in results.items():
        for name in [*per_seed[0]["models"], "stack"]:
            same, honest = (np.array([s["losses"][p][name] for s in per_seed]) for p in ("same folds", "honest"))
            gap = honest - same
            rows.append(
                [data_name, name, same.mean(), honest.mean(), gap.mean(), f"{int((gap > 0).sum())} of {len(gap)}"]
            )
    return rows


def order_lines(results: dict) -> list[str]:
    lines = []
    for data_name, per_seed in results.items():
        same, honest = ranking(per_seed, "same folds"), ranking(per_seed, "honest")
        verdict = "the same order" if same == honest else "the order changes"
        lines.append(f"- {data_name}: same folds {', '.join(same)}; honest {', '.join(honest)} ({verdict}).")
    return lines


def shrinkage_rows(results: dict) -> list[list]:
    """Each set held out: the shrinkage the other sets choose, and the held-out set's stack with it and with 250."""
    rows = []
    for held_out in results:
        others = [name for name in results if name != held_out]
        if not others:
            continue
        mean_loss = {s: np.mean([seed["shrinkage"][str(s)] for o in others for seed in results[o]]) for s in SHRINKAGES}
        chosen = min(SHRINKAGES, key=mean_loss.get)
        held = {s: np.mean([seed["shrinkage"][str(s)] for seed in results[held_out]]) for s in (chosen, SHRINKAGE)}
        rows.append(
            [held_out, ", ".join(others), chosen, held[chosen], held[SHRINKAGE], held[chosen] - held[SHRINKAGE]]
        )
    return rows


def family_rows() -> list[list]:
    """Each set held out: the parts whose removal made the other two sets' drop-one stacks worse on average."""
    stored = json.loads(FEATURE_CHOICE.read_text())
    rows = []
    for held_out in stored:
        others = [name for name in stored if name != held_out]
        parts = [
            key.removeprefix("drop-one: without ") for key in stored[held_out] if key.startswith("drop-one: without")
        ]
        for part in parts:
            key = f"drop-one: without {part}"
            if not all(key in stored[o] for o in others):
                continue
            cost = [np.mean(stored[o][key]) - np.mean(stored[o]["drop-one: all"]) for o in others]
            held = np.mean(stored[held_out][key]) - np.mean(stored[held_out]["drop-one: all"])
            keep = np.mean(cost) > 0
            rows.append([held_out, part, np.mean(cost), "keep" if keep else "drop", held])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--trials", type=int, default=6, help="trials per tuning (no time budget, so they repeat)")
    parser.add_argument("--report-only", action="store_true", help="write the tables from the stored results")
    parser.add_argument("--n-jobs", type=int, default=None, help="cores for every part (default: all)")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated (default: the defaults)")
    parser.add_argument("--seeds", type=int, default=SEEDS, help="seeds 0 to N-1 (a rerun resumes)")
    args = parser.parse_args()
    models = args.models.split(",")
    if unknown := sorted(set(models) - set(MODELS)):
        parser.error(f"unknown models {unknown}; choose from {list(MODELS)}")
    with limited_threads(args.n_jobs):  # a 1-thread run per set: on 1,000 rows, threads buy a booster little
        for data_name in [] if args.report_only else args.data:
            measure(data_name, args.trials, models, args.seeds)
    measured = [name for name in DATASETS if (RESULTS / f"honest_{name}.json").exists()]
    results = {name: json.loads((RESULTS / f"honest_{name}.json").read_text()) for name in measured}
    stored = {(tuple(seed["models"]), seed["trials"]) for per_seed in results.values() for seed in per_seed}
    if not stored:
        raise SystemExit(f"no results in {RESULTS}: measure a set first")
    (models, trials), *others = stored
    if others:
        raise SystemExit(f"the stored sets were measured with other models or trials: {sorted(stored)}")
    body = "\n\n".join(
        [
            "## Honest scores against same-folds scores (5 folds, up to 5 seeds, three shared sets)",
            "Seeds measured: " + ", ".join(f"{name} {len(per_seed)}" for name, per_seed in results.items()) + ".",
            f"Models: {', '.join(models)} (their stack is the stack below). Each model tuned with {trials} trials "
            "per tuning, no time budget. Same folds: tuned on every "
            "row's folds, then scored on the same rows (the old procedure). Honest: each half of the prompts tuned "
            "on its own and scoring the other half (the study's procedure for up to twice `tune_rows` battles). "
            "Measured one process per set: `python benchmarks/bench_honest.py --data <set> --trials "
            f"{trials} --n-jobs 1 --models {','.join(models)} --seeds <n>` (a rerun resumes after the stored "
            "seeds); the tables below are rewritten from the stored results of every set. The gap is "
            "honest minus same folds; 'worse in' counts the seeds where the honest figure is higher.",
            table(["set", "model", "same folds", "honest", "gap", "worse in"], procedure_rows(results)),
            "Order of the models by mean log loss (best first):\n\n" + "\n".join(order_lines(results)),
            "### The stacker's shrinkage, chosen on the other sets\n\n"
            "Honest out-of-fold predictions; the shrinkage with the lowest mean stack loss over the other "
            f"sets' seeds (grid {', '.join(f'{s:g}' for s in SHRINKAGES)}), and the held-out set's stack with it "
            f"and with the default {SHRINKAGE:g}.",
            table(
                ["held out", "chosen on", "chosen", "held-out stack", f"with {SHRINKAGE:g}", "difference"],
                shrinkage_rows(results),
            ),
            "### The default families, decided on the other sets\n\n"
            "From `feature_choice.py`'s drop-one stacks (default parameters, 5 seeds): a part stays when removing "
            "it raised the other two sets' mean loss; 'held-out cost' is what removing it does on the held-out set "
            "(positive: the part pays there).",
            table(["held out", "part", "cost on the others", "decision", "held-out cost"], family_rows()),
        ]
    )
    seeds = min(len(per_seed) for per_seed in results.values())  # the command that measures what is stored
    command = f"--data {' '.join(results)} --trials {trials} --n-jobs 1 --models {','.join(models)} --seeds {seeds}"
    write_section("honest", body, f"python benchmarks/bench_honest.py {command}")


if __name__ == "__main__":
    main()
