"""The report on its own: any non-empty set of models, prose about those models only."""

import numpy as np
import pandas as pd
import pytest

from prefeat.metrics import reliability
from prefeat.study.records import Explanation, ModelRun
from prefeat.study.report import markdown_table, write_report

FAMILIES = ("length", "formatting")


def made_up_run(name: str, rng, y) -> tuple[ModelRun, Explanation]:
    proba = rng.dirichlet(np.ones(3) * 2, size=len(y))
    run = ModelRun(
        name=name,
        params={},
        oof=proba,
        scores={"log_loss": 1.0, "accuracy": 0.5, "brier": 0.6, "ece": 0.05},
        fold_losses=[1.0, 1.1],
        tune_seconds=3.0,
        n_trials=4,
        tuned_minus_default=-0.002,
        refit_seconds=0.5,
        size_bytes=2048,
        learning_curve={0.25: 1.08, 0.5: 1.05, 1.0: 1.0},
    )
    importance = pd.DataFrame(
        {"mean_abs_shap_a": [0.3, 0.1], "mean_abs_shap_b": [0.3, 0.1], "mean_abs_shap_tie": [0.1, 0.0]},
        index=["length__words__diff", "formatting__bold__diff"],
    )
    importance["total"] = importance.sum(axis=1)
    families = importance.groupby(importance.index.str.split("__").str[0]).sum()
    return run, Explanation(importance, families, [])


def report_for(models, tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    made = {name: made_up_run(name, rng, y) for name in models}
    runs = {name: run for name, (run, _) in made.items()}
    explanations = {name: explanation for name, (_, explanation) in made.items()}
    oof = [run.oof for run in runs.values()]
    blends = {"average": np.mean(oof, axis=0), "stack": oof[0]}
    meta = {"rows": {"train": 60, "scored": 60, "test": 0}, "n_features": 2, "config": {"n_splits": 5, "seed": 0}}
    meta["honest_scores"] = "each half of the prompts tuned for the other"
    return write_report(tmp_path, runs, blends, y, explanations, meta, "the battles name no models").read_text()


def comparison(report: str) -> str:
    return report.split("## Comparison of the models", 1)[1].split("## Run record", 1)[0]


@pytest.mark.parametrize("models", [("catboost",), ("linear",), ("hgb", "xgboost")])
def test_report_describes_only_the_models_that_ran(models, tmp_path):
    report = report_for(models, tmp_path)
    prose = comparison(report)
    for name in ("xgboost", "catboost", "hgb", "linear"):
        assert (f"**{name}**" in prose) == (name in models)
    named = {"xgboost": "XGBoost", "catboost": "CatBoost", "hgb": "HistGradientBoosting", "linear": "linear model"}
    for name, words in named.items():
        assert (words in prose) == (name in models)
    assert (tmp_path / "figures" / "reliability.png").exists()
    assert "| 4 | -0.0020 |" in report  # trials and tuned-minus-default columns


def test_a_single_model_report_says_so(tmp_path):
    prose = comparison(report_for(("catboost",), tmp_path))
    assert "Only catboost ran" in prose
    assert "the highest" not in prose


def test_reliability_bins_on_known_values():
    y = np.array([0, 1, 2, 1, 1])
    proba = np.array([[0.95, 0.03, 0.02], [0.91, 0.05, 0.04], [0.2, 0.35, 0.45], [0.4, 0.35, 0.25], [0.1, 0.85, 0.05]])
    confidence, hit_rate, counts = reliability(y, proba, n_bins=10)
    np.testing.assert_allclose(confidence, [0.425, 0.85, 0.93])  # bins 4 (0.45, 0.40), 8 (0.85), 9 (0.95, 0.91)
    np.testing.assert_allclose(hit_rate, [0.5, 1.0, 0.5])
    assert counts.tolist() == [2, 1, 2]


def test_table_cells_escape_pipes_and_newlines_of_ngram_names():
    table = markdown_table(["feature", "total"], [['lexical__"a|b\nc"', 0.5]])
    assert table.splitlines()[-1] == '| lexical__"a\\|b c" | 0.5000 |'


def test_the_leaderboard_section_shows_both_ratings_and_the_style_coefficients_or_why_not():
    from prefeat.study.report import leaderboard_section

    table = pd.DataFrame(
        {
            "rating_raw": [1050.0, 950.0],
            "lower_raw": [1010.0, 900.0],
            "upper_raw": [1090.0, 990.0],
            "rating_controlled": [1030.0, 970.0],
            "lower_controlled": [1000.0, 930.0],
            "upper_controlled": [1060.0, 1005.0],
            "shift": [-20.0, 20.0],
        },
        index=pd.Index(["big", "small"], name="model"),
    )
    table.attrs = {
        "n_battles": 321,
        "n_bootstrap": 100,
        "control": ("length__tokens", "formatting"),
        "style_intervals": pd.DataFrame(
            {"coefficient": [0.4], "lower": [0.3], "upper": [0.5]}, index=["length__tokens__normdiff"]
        ),
    }
    section = leaderboard_section(table)
    assert "| big | 1050 (1010 to 1090) | 1030 (1000 to 1060) | -20 |" in section
    assert "| length__tokens__normdiff | 0.4000 | 0.3000 | 0.5000 |" in section
    assert "321 training battles" in section
    assert "No leaderboard: no names." in leaderboard_section("no names")
