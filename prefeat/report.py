"""report.md: the models, their average and the stack, compared on measured numbers."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from prefeat.explain import save_figure
from prefeat.metrics import reliability, scores

METRIC_COLUMNS = ("log_loss", "accuracy", "brier", "ece")


def markdown_table(header: list[str], rows: list[list]) -> str:
    def cell(value):
        if isinstance(value, float):
            return f"{value:.4f}" if abs(value) < 100 else f"{value:.0f}"
        return str(value)

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


def _rank(rows, key, models, reverse=False):
    ordered = sorted((r for r in rows if r["model"] in models), key=lambda r: r[key], reverse=reverse)
    return [r["model"] for r in ordered]


def comparison_text(rows, runs, family_shares) -> str:
    """The written comparison, drawn from the measured numbers."""
    models = list(runs)
    by = {r["model"]: r for r in rows}
    best, *_, worst = _rank(rows, "log_loss", models)
    fastest = _rank(rows, "refit_s", models)[0]
    slowest = _rank(rows, "refit_s", models)[-1]
    best_calibrated = _rank(rows, "ece", models)[0]
    smallest = _rank(rows, "size_kb", models)[0]
    lines = [
        f"- **Accuracy of the probabilities.** {best} has the lowest out-of-fold log loss "
        f"({by[best]['log_loss']:.4f}); {worst} the highest ({by[worst]['log_loss']:.4f}). "
        f"The stack scores {by['stack']['log_loss']:.4f} "
        f"({by['stack']['log_loss'] - by[best]['log_loss']:+.4f} against {best}) "
        f"and the plain average {by['average']['log_loss']:.4f}.",
        f"- **Calibration.** {best_calibrated} is best calibrated (ECE {by[best_calibrated]['ece']:.4f}).",
        f"- **Speed.** {fastest} refits fastest ({by[fastest]['refit_s']:.2f} s on all rows), "
        f"{slowest} slowest ({by[slowest]['refit_s']:.2f} s); tuning took "
        + ", ".join(f"{m} {by[m]['tune_s']:.0f} s" for m in models)
        + ".",
        f"- **Size.** {smallest} is smallest on disk ({by[smallest]['size_kb']:.0f} KB).",
    ]
    for name in models:
        curve = runs[name].learning_curve
        gain = curve[min(curve)] - curve[max(curve)]
        top_family, top_share = family_shares[name].idxmax(), family_shares[name].max()
        lines.append(
            f"- **{name}** leans most on the {top_family} family ({100 * top_share:.0f}% of its |SHAP|); "
            f"going from {100 * min(curve):.0f}% to 100% of the rows lowers its log loss by {gain:.4f}"
            + (", so more data should still help." if gain > 0.005 else ", so it is close to saturated here.")
        )
    lines += [
        "",
        "What the architectures bring, beside these numbers: XGBoost is the most configurable (depth-wise trees, "
        "L1/L2 and gamma penalties) and fast in hist mode; CatBoost grows symmetric (oblivious) trees with ordered "
        "boosting, which resists overfitting on small data but costs the most time per tree; scikit-learn's "
        "HistGradientBoosting needs no extra dependency and has the fewest knobs, so it is the easiest to ship, "
        "but it offers less regularisation to tune. The linear model (a logistic regression on the bounded "
        "comparison columns) cannot learn interactions or thresholds, but it is the fastest and smallest, and its "
        "errors differ from the trees', which is what the stack feeds on.",
    ]
    return "\n".join(lines)


def write_report(run_dir, runs, blends, y, explanations, meta) -> Path:
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
    family_shares = {name: fam["total"] / fam["total"].sum() for name, (_, fam, _) in explanations.items()}

    columns = {  # key: (header, format)
        "log_loss": ("log loss", ".4f"),
        "accuracy": ("accuracy", ".4f"),
        "brier": ("Brier", ".4f"),
        "ece": ("ECE", ".4f"),
        "fold_std": ("fold std", ".4f"),
        "tune_s": ("tune s (all trials)", ".1f"),
        "cv_fit_s": ("CV fit s", ".2f"),
        "refit_s": ("refit s", ".2f"),
        "predict_s_per_1000": ("predict s / 1000 rows", ".3f"),
        "size_kb": ("size KB", ".0f"),
    }
    table = markdown_table(
        ["model", *(header for header, _ in columns.values())],
        [[r["model"], *(format(r[k], spec) if k in r else "—" for k, (_, spec) in columns.items())] for r in rows],
    )
    curve_rows = [[name, *(run.learning_curve[f] for f in sorted(run.learning_curve))] for name, run in runs.items()]
    fractions = sorted(next(iter(runs.values())).learning_curve)
    curve_table = markdown_table(["model", *(f"{100 * f:.0f}% rows" for f in fractions)], curve_rows)
    family_names = sorted(set().union(*(share.index for share in family_shares.values())))
    family_table = markdown_table(
        ["family", *runs], [[f, *(float(family_shares[m].get(f, 0.0)) for m in runs)] for f in family_names]
    )
    sections = [
        "# prefeat study report",
        f"{meta['rows']['train']} training battles, {meta['rows']['test']} test battles, {meta['n_features']} "
        f"features; {meta['config']['n_splits']}-fold StratifiedGroupKFold grouped by prompt, seed "
        f"{meta['config']['seed']}. All scores are out of fold.",
        "## Models, average and stack\n\n" + table,
        "Log loss, accuracy, Brier and ECE (top-label, 10 bins) are out-of-fold. Fit times are on this machine; "
        "`tune s` is the study's tuning time, over every run that added trials; `refit s` is one fit on all rows.",
        "## Calibration\n\n![reliability](figures/reliability.png)",
        "## Learning curves\n\n" + curve_table + "\n\n![learning curves](figures/learning_curve.png)",
        "## Which feature families each model leans on\n\nShare of total mean |SHAP| (log-odds, all classes).\n\n"
        + family_table,
        "## Top 20 features by mean |SHAP|",
    ]
    for name, (importance, _, files) in explanations.items():
        top = importance.head(20)
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
        "## Run record\n\n```json\n" + json.dumps(meta, indent=2, default=str) + "\n```",
    ]
    path = run_dir / "report.md"
    path.write_text("\n\n".join(sections) + "\n")
    return path
