"""report.md: the models, their average and the stack, compared on measured numbers."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from prefeat.metrics import reliability, scores
from prefeat.study.explain import save_figure
from prefeat.study.records import Explanation, ModelRun
from prefeat.study.standings import STYLE_CONTROL

METRIC_COLUMNS = ("log_loss", "accuracy", "brier", "ece")


def markdown_table(header: list[str], rows: list[list]) -> str:
    def cell(value):
        if isinstance(value, float):
            return f"{value:.4f}" if abs(value) < 100 else f"{value:.0f}"
        return str(value).replace("|", "\\|").replace("\n", " ")  # n-gram names may hold either

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def reliability_figure(probas: dict[str, np.ndarray], y, path: Path) -> Path:
    figure, axis = plt.subplots(figsize=(6, 5))
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect")
    for name, proba in probas.items():
        confidence, hit_rate, _ = reliability(y, proba)
        axis.plot(confidence, hit_rate, marker="o", label=name)
    axis.set_xlabel("top-class confidence")
    axis.set_ylabel("observed accuracy")
    axis.set_title("Reliability (out of fold)")
    axis.legend()
    return save_figure(figure, path)


def learning_curve_figure(runs, path: Path) -> Path:
    figure, axis = plt.subplots(figsize=(6, 4))
    for name, run in runs.items():
        fractions = sorted(run.learning_curve)
        axis.plot([100 * f for f in fractions], [run.learning_curve[f] for f in fractions], marker="o", label=name)
    axis.set_xlabel("% of training rows kept in each fold")
    axis.set_ylabel("out-of-fold log loss")
    axis.set_title("Learning curves")
    axis.legend()
    return save_figure(figure, path)


def results_rows(runs, blends, y) -> list[dict]:
    """One record per model and blend: scores and costs."""
    rows = []
    for name, run in runs.items():
        rows.append(
            {
                "model": name,
                **run.scores,
                "fold_std": float(np.std(run.fold_losses)),
                "tune_s": run.tune_seconds,
                "n_trials": run.n_trials,
                **({"tuned_minus_default": run.tuned_minus_default} if run.tuned_minus_default is not None else {}),
                **({"tune_fold_s": run.tune_fold_seconds} if run.tune_fold_seconds is not None else {}),
                "cv_fit_s": run.cv_fit_seconds,
                "refit_s": run.refit_seconds,
                "predict_s_per_1000": run.predict_seconds_per_1000,
                "size_kb": run.size_bytes / 1024,
            }
        )
    for name, proba in blends.items():
        rows.append({"model": name, **scores(y, proba)})
    prior = np.bincount(y, minlength=3) / len(y)
    rows.append({"model": "class prior", **scores(y, np.tile(prior, (len(y), 1)))})
    return rows


ARCHITECTURES = {
    "xgboost": "XGBoost is the most configurable (depth-wise trees, L1/L2 and gamma penalties) and fast in hist mode.",
    "catboost": "CatBoost grows symmetric (oblivious) trees with ordered boosting, which resists overfitting on "
    "small data but costs the most time per tree.",
    "hgb": "scikit-learn's HistGradientBoosting needs no extra dependency and has the fewest knobs, so it is the "
    "easiest to ship, but it offers less regularisation to tune.",
    "linear": "The linear model (a logistic regression on the bounded comparison columns) cannot learn interactions "
    "or thresholds, but it is the fastest and smallest, and its errors differ from the trees', which is what the "
    "stack feeds on.",
    "lexical": "The lexical model reads the answers themselves (character n-grams, A minus B) rather than the "
    "features: alone it is no better than the others, but its errors differ most, so it adds the most to the "
    "stack; it is the slowest to predict (it tokenizes every text) and the largest on disk.",
}


def _ranked(rows: list[dict], key: str, models: list[str]) -> list[str]:
    return [r["model"] for r in sorted((r for r in rows if r["model"] in models), key=lambda r: r[key])]


def comparison_text(rows: list[dict], runs: dict[str, ModelRun], family_shares: dict) -> str:
    """The written comparison, drawn from the measured numbers of the models that ran."""
    models = list(runs)
    by = {r["model"]: r for r in rows}
    best, worst = _ranked(rows, "log_loss", models)[0], _ranked(rows, "log_loss", models)[-1]
    stack = by["stack"]["log_loss"]
    if len(models) == 1:
        accuracy = (
            f"- **Accuracy of the probabilities.** Only {best} ran: out-of-fold log loss "
            f"{by[best]['log_loss']:.4f}; the stack of this one model (a recalibration) scores {stack:.4f} "
            f"({stack - by[best]['log_loss']:+.4f})."
        )
    else:
        accuracy = (
            f"- **Accuracy of the probabilities.** {best} has the lowest out-of-fold log loss "
            f"({by[best]['log_loss']:.4f}); {worst} the highest ({by[worst]['log_loss']:.4f}). The stack scores "
            f"{stack:.4f} ({stack - by[best]['log_loss']:+.4f} against {best}) and the plain average "
            f"{by['average']['log_loss']:.4f}."
        )
    calibrated = _ranked(rows, "ece", models)[0]
    by_refit = _ranked(rows, "refit_s", models)
    smallest = _ranked(rows, "size_kb", models)[0]
    lines = [
        accuracy,
        f"- **Calibration.** {calibrated} is best calibrated (ECE {by[calibrated]['ece']:.4f}).",
        f"- **Speed.** {by_refit[0]} refits fastest ({by[by_refit[0]]['refit_s']:.2f} s on all rows), "
        f"{by_refit[-1]} slowest ({by[by_refit[-1]]['refit_s']:.2f} s); tuning took "
        + ", ".join(f"{m} {by[m]['tune_s']:.0f} s ({runs[m].n_trials} trials)" for m in models)
        + ".",
        f"- **Size.** {smallest} is smallest on disk ({by[smallest]['size_kb']:.0f} KB).",
    ]
    for name in models:
        curve = runs[name].learning_curve
        top_family, top_share = family_shares[name].idxmax(), family_shares[name].max()
        line = f"- **{name}** leans most on the {top_family} family ({100 * top_share:.0f}% of its |SHAP|)"
        if len(curve) > 1:
            gain = curve[min(curve)] - curve[max(curve)]
            line += f"; going from {100 * min(curve):.0f}% to 100% of the rows lowers its log loss by {gain:.4f}" + (
                ", so more data should still help." if gain > 0.005 else ", so it is close to saturated here."
            )
        lines.append(line + ("" if len(curve) > 1 else "."))
    notes = " ".join(ARCHITECTURES[name] for name in models if name in ARCHITECTURES)
    return "\n".join([*lines, "", "What the architectures bring, beside these numbers: " + notes])


def interval(rating: float, lower: float, upper: float) -> str:
    return f"{rating:.0f}" if np.isnan(lower) else f"{rating:.0f} ({lower:.0f} to {upper:.0f})"


def leaderboard_section(standings: pd.DataFrame | str) -> str:
    """The models' ratings from the training votes (``prefeat.study.standings``), or why there are none."""
    title = "## Leaderboard of the models that wrote the training answers"
    if isinstance(standings, str):
        return f"{title}\n\nNo leaderboard: {standings}."
    controlled = "rating_controlled" in standings
    suffixes = ("_raw", "_controlled") if controlled else ("",)
    rows = [
        [model, *(interval(*(row[f"{c}{s}"] for c in ("rating", "lower", "upper"))) for s in suffixes)]
        + ([f"{row['shift']:+.0f}"] if controlled else [])
        for model, row in standings.iterrows()
    ]
    header = ["model", "raw rating (95% interval)"]
    header += ["style-controlled rating (95% interval)", "shift"] if controlled else []
    text = [
        title,
        f"Bradley-Terry ratings (Elo scale, mean 1000) fitted on the {standings.attrs['n_battles']} training "
        "battles' votes, ties counting half a win each way; the intervals are the 2.5th and 97.5th percentiles "
        f"over {standings.attrs['n_bootstrap']} bootstrap resamples of the battles (`prefeat.leaderboard`). They "
        "describe what the voters preferred, not this study's predictions.",
        markdown_table(header, rows),
    ]
    if controlled:
        coefficients = standings.attrs["style_intervals"]
        text += [
            "Style-controlled: the same fit with the answers' A - B style differences as covariates "
            f"({', '.join(standings.attrs['control'])}; LMArena's style control), so the ratings are what is left "
            "once style explains what it can. Sorted by that rating. The style coefficients (logit per "
            "root-mean-square unit of their column; positive: more of it wins votes):",
            markdown_table(
                ["covariate", "coefficient", "lower", "upper"],
                [[name, *map(float, row)] for name, row in coefficients.iterrows()],
            ),
        ]
    else:
        text.append(f"No style control: the features lack a `normdiff` column of {' or '.join(STYLE_CONTROL)}.")
    return "\n\n".join([*text, "![leaderboard](figures/leaderboard.png)"])


def write_report(
    run_dir,
    runs: dict[str, ModelRun],
    blends: dict[str, np.ndarray],
    y,
    explanations: dict[str, Explanation],
    meta,
    standings: pd.DataFrame | str,
) -> Path:
    """Write ``report.md``, ``results.json`` and the figures for the models that ran (one or more);
    ``standings``: the models' leaderboard (``prefeat.study.standings``), or why there is none."""
    run_dir = Path(run_dir)
    figures = run_dir / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    rows = results_rows(runs, blends, y)
    (run_dir / "results.json").write_text(
        json.dumps({"results": rows, "learning_curves": {n: r.learning_curve for n, r in runs.items()}}, indent=2)
    )
    probas = {name: run.oof for name, run in runs.items()} | {"stack": blends["stack"]}
    reliability_figure(probas, y, figures / "reliability.png")
    learning_curve_figure(runs, figures / "learning_curve.png")
    family_shares = {name: e.families["total"] / e.families["total"].sum() for name, e in explanations.items()}

    columns = {  # key: (header, format)
        "log_loss": ("log loss", ".4f"),
        "accuracy": ("accuracy", ".4f"),
        "brier": ("Brier", ".4f"),
        "ece": ("ECE", ".4f"),
        "fold_std": ("fold std", ".4f"),
        "tune_s": ("tune s (all trials)", ".1f"),
        "n_trials": ("trials", "d"),
        "tuned_minus_default": ("tuned - default", "+.4f"),
        "cv_fit_s": ("CV fit s", ".2f"),
        "refit_s": ("refit s", ".2f"),
        "predict_s_per_1000": ("predict s / 1000 rows", ".3f"),
        "size_kb": ("size KB", ".0f"),
    }
    table = markdown_table(
        ["model", *(header for header, _ in columns.values())],
        [[r["model"], *(format(r[k], spec) if k in r else "—" for k, (_, spec) in columns.items())] for r in rows],
    )
    fractions = sorted(set().union(*(run.learning_curve for run in runs.values())))
    curve_rows = [[name, *(run.learning_curve.get(f, "—") for f in fractions)] for name, run in runs.items()]
    curve_table = markdown_table(["model", *(f"{100 * f:.0f}% rows" for f in fractions)], curve_rows)
    family_names = sorted(set().union(*(share.index for share in family_shares.values())))
    family_table = markdown_table(
        ["family", *runs], [[f, *(float(family_shares[m].get(f, 0.0)) for m in runs)] for f in family_names]
    )
    sections = [
        "# prefeat study report",
        f"{meta['rows']['train']} training battles, {meta['rows']['test']} test battles, {meta['n_features']} "
        f"features; {meta['config']['n_splits']}-fold StratifiedGroupKFold grouped by prompt, seed "
        f"{meta['config']['seed']}.",
        f"**How the scores were obtained.** Every score below is out of fold on the {meta['rows']['scored']} "
        f"battles whose labels chose nothing: {meta['honest_scores']}; the stack is scored by its own "
        "cross-validation over the same folds, with its shrinkage fixed beforehand (BENCHMARKS.md; its weights "
        "see the other half's honest predictions, a second-order effect); the prompt topics are learned from "
        "every training text, never from a label. The submission's models are refitted on every training "
        "battle, with the parameters of the half that scored better (the learning curve is that half's).",
        "## Models, average and stack\n\n" + table,
        "Log loss, accuracy, Brier and ECE (top-label, 10 bins) are out-of-fold. Fit times are on this machine; "
        "`tune s` is the study's tuning time, over every run that added trials; `tuned - default` is the best "
        "trial's mean fold log loss minus that of the first trial (the hand-set defaults), on the tuning rows' "
        "folds (negative: tuning helped; measured on the rows that chose, so it is optimistic); `refit s` is one "
        "fit on all rows.",
        "## Calibration\n\n![reliability](figures/reliability.png)",
        "## Learning curves\n\n" + curve_table + "\n\n![learning curves](figures/learning_curve.png)\n\n"
        "Out-of-fold log loss of the battles that the final parameters score, when each training fold keeps "
        "a fraction of its rows. Above twice the study's `tune_rows` only the full point is measured (the "
        "curve would refit every model twice more).",
        "## Which feature families each model leans on\n\nShare of total mean |SHAP| (log-odds, all classes).\n\n"
        + family_table,
        "## Top 20 features by mean |SHAP|",
    ]
    for name, explanation in explanations.items():
        top, files = explanation.importance.head(20), explanation.files
        sections.append(
            f"### {name}\n\n"
            + markdown_table(
                ["feature", "P(A)", "P(B)", "P(tie)", "total"], [[i, *map(float, r)] for i, r in top.iterrows()]
            )
            + "\n\n"
            + " ".join(f"![{Path(f).stem}](shap/{Path(f).name})" for f in files)
        )
    sections += [
        "## Comparison of the models\n\n" + comparison_text(rows, runs, family_shares),
        leaderboard_section(standings),
        "## Run record\n\n```json\n" + json.dumps(meta, indent=2, default=str) + "\n```",
    ]
    path = run_dir / "report.md"
    path.write_text("\n\n".join(sections) + "\n")
    return path
