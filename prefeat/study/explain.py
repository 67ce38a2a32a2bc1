"""SHAP explanations of the fitted models, comparable across the libraries.

The boosters use shap's TreeExplainer on the underlying booster (one pass in margin units, per
class); the linear model's SHAP values are exact and computed from its coefficients; so values are
log-odds contributions for every model. The lexical model is linear in its n-grams: its values are
exact too, those of its win model (A over B, shown for P(a) and P(b)) and of its tie model. A
symmetric model averages both A/B orders at prediction; its explanation is that of the booster on
the given order, which the swap-trained booster makes mirror-consistent.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from prefeat.features.columns import family_of
from prefeat.models import CatBoostModel, IdentityModel, LexicalModel, LinearModel, XGBoostModel
from prefeat.models.base import CLASSES
from prefeat.models.lexical import design
from prefeat.study.records import Explanation


def explained_columns(model) -> list[str]:
    """The columns the fitted model reads: all of them for a booster, the bounded ones for the linear model."""
    if isinstance(model, LinearModel):
        return list(model.booster_.named_steps["scale"].get_feature_names_out())
    return list(model.columns_)


def shap_values(model, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values of shape (rows, features, classes) and the base value per class, in log-odds."""
    X = X[explained_columns(model)]
    if isinstance(model, LinearModel):
        return linear_shap_values(model.booster_, X)
    if isinstance(model, CatBoostModel):  # what shap's TreeExplainer asks CatBoost for, on the model's threads
        from catboost import Pool

        phi = model.booster_.get_feature_importance(Pool(X), type="ShapValues", thread_count=model._threads())
        return np.transpose(phi[:, :, :-1], (0, 2, 1)), phi[0, :, -1]
    import shap

    if isinstance(model, XGBoostModel):
        model.booster_.set_params(n_jobs=model._threads())  # a booster read from the fit cache has no count
    explainer = shap.TreeExplainer(model.booster_)
    return np.asarray(explainer.shap_values(X)), np.atleast_1d(explainer.expected_value)


def linear_shap_values(pipeline, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Exact SHAP of a standardised logistic regression against its training rows as background.

    A linear score's SHAP value is coefficient x (value - background mean); the training rows
    have mean 0 once standardised, so it is coefficient x standardised value, and the base value
    is the intercept.
    """
    scaler = pipeline.named_steps["scale"].named_transformers_["bounded"]
    classifier = pipeline.named_steps["classifier"]
    standardised = scaler.transform(X)
    return standardised[:, :, None] * classifier.coef_.T[None, :, :], classifier.intercept_.copy()


def importance_table(values: np.ndarray, feature_names) -> pd.DataFrame:
    """Mean |SHAP| per feature and class, with their total, largest first."""
    return importance_frame(np.abs(values).mean(axis=0), feature_names)


def importance_frame(mean_abs: np.ndarray, feature_names) -> pd.DataFrame:
    """A (features, classes) array of mean |SHAP| as a table with their total, largest first."""
    table = pd.DataFrame(mean_abs, index=list(feature_names), columns=[f"mean_abs_shap_{c}" for c in CLASSES])
    table["total"] = table.sum(axis=1)
    return table.sort_values("total", ascending=False)


def family_table(importance: pd.DataFrame) -> pd.DataFrame:
    """The same importances summed by feature family."""
    return importance.groupby(importance.index.map(family_of)).sum().sort_values("total", ascending=False)


def save_figure(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def bar_plot(table: pd.DataFrame, title: str, path: Path, top: int = 20) -> Path:
    shown = table.head(top).iloc[::-1]
    figure, axis = plt.subplots(figsize=(8, 0.32 * len(shown) + 1.5))
    left = np.zeros(len(shown))
    for label in CLASSES:
        column = f"mean_abs_shap_{label}"
        axis.barh(shown.index, shown[column], left=left, label=f"P({label})")
        left += shown[column].to_numpy()
    axis.set_xlabel("mean |SHAP| (log-odds), stacked over classes")
    axis.set_title(title)
    axis.legend(loc="lower right")
    return save_figure(figure, path)


def beeswarm_plot(values: np.ndarray, X: pd.DataFrame, class_index: int, title: str, path: Path) -> Path:
    import shap

    shap.summary_plot(values[:, :, class_index], X, max_display=20, show=False, plot_size=(9, 8))
    plt.title(title)
    return save_figure(plt.gcf(), path)


def waterfall_plot(values, base_values, X: pd.DataFrame, row: int, class_index: int, title: str, path: Path) -> Path:
    import shap

    explanation = shap.Explanation(
        values=values[row, :, class_index],
        base_values=base_values[class_index],
        data=X.iloc[row].to_numpy(),
        feature_names=list(X.columns),
    )
    shap.plots.waterfall(explanation, max_display=12, show=False)
    plt.title(title)
    return save_figure(plt.gcf(), path)


def mean_abs_centred(matrix) -> np.ndarray:
    """Per column of a sparse matrix, the mean of |value - column mean| over its rows."""
    matrix = matrix.tocsc()
    n_rows = matrix.shape[0]
    means = np.asarray(matrix.mean(axis=0)).ravel()
    columns = np.repeat(np.arange(matrix.shape[1]), np.diff(matrix.indptr))
    stored = np.bincount(columns, np.abs(matrix.data - means[columns]), minlength=matrix.shape[1])
    zeros = n_rows - np.diff(matrix.indptr)
    return (stored + zeros * np.abs(means)) / n_rows


def lexical_importance(model: LexicalModel, texts: pd.DataFrame) -> pd.DataFrame:
    """Exact mean |SHAP| per column of the lexical model (``lexical__"<n-gram>"`` for A minus B,
    ``lexical__|"<n-gram>"|`` for the distance), per class, against ``texts`` as background.

    A linear log-odds' SHAP value is coefficient x (value - background mean).
    """
    rows = design(model.difference(texts))
    coef = model.booster_["classifier"].coef_
    spread = mean_abs_centred(rows)
    ngrams = model.booster_["vectorizer"].get_feature_names_out()
    names = [f'lexical__"{ngram}"' for ngram in ngrams] + [f'lexical__|"{ngram}"|' for ngram in ngrams]
    return importance_frame(np.abs(coef).T * spread[:, None], names)


def explain_lexical(model: LexicalModel, texts: pd.DataFrame, out_dir: Path) -> Explanation:
    """The lexical model's n-gram importances and its strongest n-grams for A over B and for a tie."""
    importance = lexical_importance(model, texts)
    weights = model.ngram_weights()
    name = model.name
    importance.to_csv(out_dir / f"shap_{name}_features.csv")
    strongest = pd.concat(
        {
            "A over B": weights["A over B"].sort_values(ascending=False).head(15),
            "B over A": weights["A over B"].sort_values().head(15),
            "tie": weights["tie"].sort_values(ascending=False).head(15),
        }
    ).rename("coefficient")
    strongest.to_csv(out_dir / f"{name}_top_ngrams.csv")
    files = [bar_plot(importance, f"{name}: top n-grams", out_dir / f"shap_{name}_bar.png")]
    return Explanation(importance, family_table(importance), files)


def explain_model(
    model, X: pd.DataFrame, ids, out_dir, max_rows: int = 1000, n_battles: int = 3, seed: int = 0
) -> Explanation:
    """Write the importance tables and plots for one model, from a seeded sample of ``max_rows`` rows.

    ``X`` is what the model reads: the feature table, or the answers' texts for the lexical and identity
    models (the identity model is explained on the columns it computes from them).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(X), size=min(max_rows, len(X)), replace=False))
    sampled = X.iloc[rows]
    if isinstance(model, LexicalModel):
        return explain_lexical(model, sampled, out_dir)
    columns = model.transform(sampled) if isinstance(model, IdentityModel) else sampled  # identity's, from texts
    sample = columns[explained_columns(model)]
    values, base_values = shap_values(model, sample)
    importance = importance_table(values, sample.columns)
    families = family_table(importance)
    name = model.name
    importance.to_csv(out_dir / f"shap_{name}_features.csv")
    files = [
        bar_plot(importance, f"{name}: top features", out_dir / f"shap_{name}_bar.png"),
        bar_plot(families, f"{name}: by feature family", out_dir / f"shap_{name}_families.png"),
        beeswarm_plot(values, sample, 0, f"{name}: SHAP for P(A wins)", out_dir / f"shap_{name}_beeswarm.png"),
    ]
    proba = model.predict_proba(sampled)
    confident = np.argsort(-proba.max(axis=1))[:n_battles]
    for row in confident:
        winner = int(np.argmax(proba[row]))
        battle_id = np.asarray(ids)[rows[row]]
        title = f"{name}, battle {battle_id}: P({CLASSES[winner]}) = {proba[row, winner]:.2f}"
        path = out_dir / f"shap_{name}_waterfall_{battle_id}.png"
        files.append(waterfall_plot(values, base_values, sample, row, winner, title, path))
    return Explanation(importance, families, files)
