"""The leaderboard: ratings with intervals, raw and style-controlled side by side, and their figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from prefeat.ratings.bradley_terry import (
    ELO_BASE,
    WEAK_C,
    battle_outcomes,
    bootstrap,
    design_matrix,
    fit_ratings,
    model_names,
    percentiles,
)
from prefeat.ratings.style import STYLE_ROLE, compute_style_features, control_names, style_matrix


def leaderboard(
    battles: pd.DataFrame,
    control=None,
    n_bootstrap: int = 100,
    seed: int | None = 0,
    features: pd.DataFrame | None = None,
    *,
    interval: float = 0.95,
    anchor: str | None = None,
    featurizer_options: dict | None = None,
    C: float = WEAK_C,
) -> pd.DataFrame:
    """Bradley-Terry ratings of the models named in ``battles``, best first, with bootstrap intervals.

    Parameters
    ----------
    battles : frame with ``model_a``, ``model_b`` and ``label`` (0 = A wins, 1 = B wins, 2 = tie), as from
        :func:`prefeat.load_battles`; with ``control`` and no ``features``, also ``prompt``, ``response_a``
        and ``response_b``. Battles without a label, or of a model against itself, are left out.
    control : None for raw ratings, or feature family names (``("length", "formatting")``) whose
        ``normdiff`` columns become covariates (style control); a ``family__metric`` stem
        (``"length__tokens"``) picks one column.
    n_bootstrap : resamples of the battles for the intervals (0: no intervals, ``lower``/``upper`` NaN).
    seed : seed of the NumPy Generator that draws the resamples.
    features : an already computed feature table indexed like ``battles`` (``ArenaFeaturizer`` output
        with ``family__metric__role`` columns), so the features are not computed again.
    interval : the coverage of the percentile interval (0.95: the 2.5th to the 97.5th percentile).
    anchor : a model to pin at 1000; None puts the mean rating at 1000.
    featurizer_options : keyword arguments for the ``ArenaFeaturizer`` that computes the control features
        (``{"cache_dir": False, "n_jobs": 1}``); ``show_progress`` is off unless given.
    C : inverse strength of the L2 penalty (scikit-learn's ``C``, against the summed log-loss). The default
        is nearly the maximum-likelihood fit; a model that won (or lost) every one of its battles then gets
        a rating thousands of points away, which a smaller ``C`` (say 1 to 10) pulls in.

    Returns
    -------
    A DataFrame indexed by model name (``model``), sorted by rating, best first, with columns ``rating``,
    ``lower`` and ``upper`` (Elo scale; see the module's docstring for the model, the tie rule and the
    scaling). ``attrs`` hold ``style_coefficients`` (a Series, covariate -> logit coefficient per
    root-mean-square unit; empty without control), ``style_intervals`` (``coefficient``, ``lower``,
    ``upper``), ``n_battles`` (battles used), ``n_bootstrap``, ``control`` and ``anchor``.

    Raises
    ------
    ValueError : the model columns or ``label`` are missing (naming them), fewer than two models, an
        unknown control, or features without rows for some battles.
    """
    outcomes = battle_outcomes(battles)
    models = model_names(outcomes)
    if anchor is not None and anchor not in models:
        raise ValueError(f"the anchor {anchor!r} is not one of the models {models}")
    X = design_matrix(outcomes, models)
    score = outcomes["score"].to_numpy()

    covariates, names = None, pd.Index([], dtype=object)
    if control_names(control):
        if features is None:
            features = compute_style_features(battles.loc[outcomes.index], control, featurizer_options)
        covariates, names, _ = style_matrix(features, outcomes.index, control)

    ratings, coefficients = fit_ratings(X, score, models, covariates, anchor=anchor, C=C)
    boot_ratings, boot_coefficients = bootstrap(X, score, models, covariates, n_bootstrap, seed, anchor, C)
    lower, upper = percentiles(boot_ratings, interval)
    table = pd.DataFrame({"rating": ratings, "lower": lower, "upper": upper}, index=pd.Index(models, name="model"))
    table = table.iloc[np.lexsort((np.arange(len(models)), -ratings))]

    coefficient_lower, coefficient_upper = percentiles(boot_coefficients, interval)
    table.attrs["style_coefficients"] = pd.Series(coefficients, index=names, name="coefficient", dtype=float)
    table.attrs["style_intervals"] = pd.DataFrame(
        {"coefficient": coefficients, "lower": coefficient_lower, "upper": coefficient_upper}, index=names
    )
    table.attrs["n_battles"] = len(outcomes)
    table.attrs["n_bootstrap"] = n_bootstrap
    table.attrs["control"] = control_names(control)
    table.attrs["anchor"] = anchor
    return table


def leaderboard_table(
    battles: pd.DataFrame,
    control=("length", "formatting"),
    n_bootstrap: int = 100,
    seed: int | None = 0,
    features: pd.DataFrame | None = None,
    **options,
) -> pd.DataFrame:
    """Raw and style-controlled leaderboards side by side, sorted by the controlled rating.

    Columns ``rating_raw``, ``lower_raw``, ``upper_raw``, ``rank_raw``, ``rating_controlled``,
    ``lower_controlled``, ``upper_controlled``, ``rank_controlled`` and ``shift`` (controlled minus raw).
    ``attrs`` are the controlled leaderboard's (``style_coefficients``, ``style_intervals``, ...).
    Both use the same seed, so the same resamples of the battles. ``options`` go to :func:`leaderboard`.
    """
    if not control_names(control):
        raise ValueError("leaderboard_table needs a control: feature family names such as ('length', 'formatting')")
    if features is None:
        kept = battle_outcomes(battles).index
        features = compute_style_features(battles.loc[kept], control, options.get("featurizer_options"))
    raw = leaderboard(battles, None, n_bootstrap, seed, **options)
    controlled = leaderboard(battles, control, n_bootstrap, seed, features, **options)
    # built column by column: pd.concat would compare the frames' attrs, which hold Series
    columns = {}
    for suffix, frame in (("raw", raw.reindex(controlled.index)), ("controlled", controlled)):
        for column in ("rating", "lower", "upper"):
            columns[f"{column}_{suffix}"] = frame[column].to_numpy()
        columns[f"rank_{suffix}"] = frame["rating"].rank(ascending=False, method="min").astype(int).to_numpy()
    table = pd.DataFrame(columns, index=controlled.index)
    table["shift"] = table["rating_controlled"] - table["rating_raw"]
    table.attrs = dict(controlled.attrs)
    return table


def leaderboard_figure(table: pd.DataFrame, path=None, title: str | None = None):
    """A figure of the raw and controlled ratings with their intervals, one row per model (best controlled
    rating on top), and the style coefficients beside it when ``table.attrs`` has them.

    ``table`` is :func:`leaderboard_table`'s, or one :func:`leaderboard` frame (``rating``, ``lower``,
    ``upper``). Written to ``path`` (PNG, SVG, PDF by its suffix) when given; returns the matplotlib Figure.
    Uses matplotlib's object API with the Agg canvas, so the global backend is left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if {"rating", "lower", "upper"} <= set(table.columns):
        series = [("", "rating", "C0")]
    else:
        series = [("_raw", "raw", "C1"), ("_controlled", "style-controlled", "C0")]
        missing = [f"{c}{s}" for s, _, _ in series for c in ("rating", "lower", "upper") if f"{c}{s}" not in table]
        if missing:
            raise ValueError(f"the table lacks the columns {missing}")
    coefficients = table.attrs.get("style_intervals")
    with_coefficients = coefficients is not None and len(coefficients) > 0

    n = len(table)
    height = max(2.5, 0.32 * n + 1.2)
    figure = Figure(figsize=(11 if with_coefficients else 7.5, height), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 2, width_ratios=[3, 2]) if with_coefficients else [figure.subplots()]
    ax = axes[0]
    y = np.arange(n)[::-1].astype(float)
    offset = 0.18 if len(series) == 2 else 0.0
    for k, (suffix, label, color) in enumerate(series):
        rating = table[f"rating{suffix}"].to_numpy(dtype=float)
        lower = table[f"lower{suffix}"].to_numpy(dtype=float)
        upper = table[f"upper{suffix}"].to_numpy(dtype=float)
        errors = np.vstack([rating - lower, upper - rating])
        errors = None if np.isnan(errors).all() else np.nan_to_num(np.clip(errors, 0, None))
        shift = offset if k == len(series) - 1 else -offset
        ax.errorbar(rating, y + shift, xerr=errors, fmt="o", color=color, capsize=3, ms=4, label=label or None)
    ax.axvline(ELO_BASE, color="0.8", lw=0.8, zorder=0)
    ax.set_yticks(y, [str(name) for name in table.index])
    ax.set_xlabel("rating (Elo scale)")
    ax.set_ylim(-0.7, n - 0.3)
    if len(series) == 2:
        ax.legend(loc="lower right", fontsize="small")
    if with_coefficients:
        cax = axes[1]
        cy = np.arange(len(coefficients))[::-1].astype(float)
        values = coefficients["coefficient"].to_numpy(dtype=float)
        spread = np.vstack([values - coefficients["lower"], coefficients["upper"] - values])
        spread = None if np.isnan(spread).all() else np.nan_to_num(np.clip(spread, 0, None))
        cax.errorbar(values, cy, xerr=spread, fmt="s", color="C2", capsize=3, ms=4)
        cax.axvline(0.0, color="0.6", lw=0.8)
        cax.set_yticks(cy, [str(name).removesuffix(f"__{STYLE_ROLE}") for name in coefficients.index])
        cax.set_xlabel("style coefficient (logit per RMS unit)")
        cax.tick_params(axis="y", labelsize="small")
    if title:
        figure.suptitle(title)
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure
