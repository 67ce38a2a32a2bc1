"""A leaderboard of the models that fought the battles: Bradley-Terry ratings with bootstrap intervals,
raw and with style control (LMArena's method).

The model
---------
Each battle between ``model_a`` and ``model_b`` is one row of a logistic regression without intercept:
the model columns hold +1 for ``model_a``, -1 for ``model_b`` and 0 elsewhere, and the outcome is
"A wins". The coefficients ``beta`` are the models' strengths on the logit scale:
``P(A wins) = 1 / (1 + exp(-(beta_a - beta_b)))``. They are reported on the Elo scale LMArena uses,
``rating = 1000 + 400 / ln(10) * beta``, so a 400-point gap means 10:1 odds; the ratings are shifted
so that their mean is 1000 (or so that a named ``anchor`` model sits at 1000).

Ties count as half a win for each side (LMArena's rule): a tie adds the row "A wins" and the row
"B wins" with weight 0.5 each, so a tie pulls the two ratings together without a separate tie
parameter. Every battle also enters mirrored (A and B exchanged, outcome flipped; all weights
halved, so each battle weighs 1 in total). The likelihood is unchanged by the mirror, but the design is
then exactly symmetric: swapping A and B in every battle gives the same rows, so the same ratings to the
last bit. Identical rows are merged by summing their weights, so the raw fit works on a few rows per pair
of models whatever the number of battles.

Regularisation is a very weak L2 penalty (``C = 1e6`` in scikit-learn's terms: the summed log-loss of
the battles, each weighing 1, times 1e6, plus half the squared coefficients): it leaves the estimates
as the maximum-likelihood ones where those exist, and keeps them finite where they do not (a model that
wins every one of its battles in a bootstrap sample).

Style control
-------------
With ``control``, the design gains the chosen feature families' ``normdiff`` columns
(``(a - b) / (|a| + |b| + 1)``, computed by :class:`~prefeat.ArenaFeaturizer`) as covariates, as LMArena
does: the model ratings are then what is left once the answers' style explains what it can. Each
covariate is divided by its root mean square over the battles (not centred: a normdiff is odd in A/B, so
it stays odd, and no style difference still means no style effect); columns that are zero everywhere
are dropped. The coefficients, on the logit scale per root-mean-square unit of their column, are in
``table.attrs["style_coefficients"]`` (a Series), with their bootstrap intervals in
``table.attrs["style_intervals"]`` (a DataFrame with ``coefficient``, ``lower``, ``upper``).

Intervals
---------
``rating`` is the fit on all the battles; ``lower`` and ``upper`` are percentiles (2.5 and 97.5 for the
default 95%) of the ratings refitted on ``n_bootstrap`` resamples of the battles, drawn with
replacement by a NumPy Generator seeded with ``seed`` (as multinomial counts used as weights, which is
the same as resampling rows). The same seed gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

ELO_SCALE = 400.0 / math.log(10.0)  # logit units -> Elo points
ELO_BASE = 1000.0
MODEL_COLUMNS = ("model_a", "model_b")
WEAK_C = 1e6
STYLE_ROLE = "normdiff"


# ---------------------------------------------------------------- the battles


def battle_outcomes(battles: pd.DataFrame) -> pd.DataFrame:
    """The battles that say something about ratings: ``model_a``, ``model_b`` and ``score`` (A's score:
    1 for a win, 0 for a loss, 0.5 for a tie), indexed like ``battles``.

    Raises ValueError when the model columns or ``label`` are missing, or a label is not 0, 1 or 2.
    Battles without a label, without a model name or of a model against itself are left out.
    """
    missing = [column for column in (*MODEL_COLUMNS, "label") if column not in battles.columns]
    if missing:
        raise ValueError(
            f"a leaderboard needs the battles to name their models and outcome: missing the columns {missing} "
            f"(it uses {[*MODEL_COLUMNS, 'label']})"
        )
    labels = pd.to_numeric(battles["label"], errors="coerce")
    known = labels.notna() & battles["model_a"].notna() & battles["model_b"].notna()
    bad = sorted(set(labels[known].unique()) - {0, 1, 2})
    if bad:
        raise ValueError(f"labels must be 0 (A wins), 1 (B wins) or 2 (tie); found {bad}")
    kept = known & (battles["model_a"].astype(str) != battles["model_b"].astype(str))
    labels = labels[kept].astype(int)
    return pd.DataFrame(
        {
            "model_a": battles.loc[kept, "model_a"].astype(str),
            "model_b": battles.loc[kept, "model_b"].astype(str),
            "score": labels.map({0: 1.0, 1: 0.0, 2: 0.5}).astype(float),
        },
        index=battles.index[kept],
    )


def model_names(outcomes: pd.DataFrame) -> list[str]:
    """The models of the battles, sorted; ValueError with fewer than two."""
    models = sorted(set(outcomes["model_a"]) | set(outcomes["model_b"]))
    if len(models) < 2:
        raise ValueError(
            f"a leaderboard needs battles between at least two different models; found {models or 'none'} "
            "(battles of a model against itself and battles without a label are left out)"
        )
    return models


def design_matrix(battles: pd.DataFrame, models: Sequence[str]) -> np.ndarray:
    """One row per battle, one column per model: +1 for ``model_a``, -1 for ``model_b``."""
    position = {name: i for i, name in enumerate(models)}
    unknown = sorted((set(battles["model_a"]) | set(battles["model_b"])) - set(position))
    if unknown:
        raise ValueError(f"models {unknown} are not in the model list")
    rows = np.arange(len(battles))
    X = np.zeros((len(battles), len(models)))
    X[rows, battles["model_a"].map(position).to_numpy(dtype=int)] += 1.0
    X[rows, battles["model_b"].map(position).to_numpy(dtype=int)] -= 1.0
    return X


# ---------------------------------------------------------------- style covariates


def _control_names(control) -> tuple[str, ...]:
    if control is None:
        return ()
    names = (control,) if isinstance(control, str) else tuple(control)
    return tuple(dict.fromkeys(names))


def style_columns(columns, control) -> list[str]:
    """The ``normdiff`` columns that ``control`` names: a family name (``"length"``) takes all of its
    family's, a ``family__metric`` stem (``"length__tokens"``) that one only."""
    columns = list(columns)
    chosen = []
    for name in _control_names(control):
        if "__" in name:
            wanted = [name if name.endswith(f"__{STYLE_ROLE}") else f"{name}__{STYLE_ROLE}"]
            found = [column for column in wanted if column in columns]
        else:
            found = [c for c in columns if c.split("__", 1)[0] == name and c.rpartition("__")[2] == STYLE_ROLE]
        if not found:
            raise ValueError(f"no {STYLE_ROLE} feature columns for the control {name!r} among the features")
        chosen += [column for column in found if column not in chosen]
    return chosen


def compute_style_features(battles: pd.DataFrame, control, featurizer_options: dict | None = None) -> pd.DataFrame:
    """The control families' features for ``battles`` from :class:`~prefeat.ArenaFeaturizer`, indexed like them."""
    from prefeat.featurizer import ArenaFeaturizer

    families = list(dict.fromkeys(name.split("__", 1)[0] for name in _control_names(control)))
    options = {"show_progress": False, **(featurizer_options or {})}
    featurizer = ArenaFeaturizer(families=families, **options).set_output(transform="pandas")
    features = featurizer.fit_transform(battles)
    features.index = battles.index
    return features


def style_matrix(features: pd.DataFrame, index, control) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """The scaled covariates for the battles of ``index``: (matrix, column names, scales).

    Columns are divided by their root mean square over these battles; columns that are zero everywhere are
    dropped. ``features`` must hold a row for every battle (by index)."""
    columns = style_columns(features.columns, control)
    missing = index.difference(features.index)
    if len(missing):
        raise ValueError(f"the features have no rows for {len(missing)} battles (first: {list(missing[:3])})")
    values = features.loc[index, columns].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("the style features hold missing or infinite values")
    scales = np.sqrt(np.mean(values**2, axis=0)) if len(values) else np.zeros(len(columns))
    keep = scales > 0
    return values[:, keep] / scales[keep], pd.Index(columns)[keep], scales[keep]


# ---------------------------------------------------------------- fitting


def expand_rows(X: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The logistic-regression rows of the battles, mirrored and merged.

    Each battle ``i`` gives ``(X_i, A wins)`` and ``(-X_i, B wins)`` with weight ``score_i / 2``, and
    ``(X_i, B wins)`` and ``(-X_i, A wins)`` with weight ``(1 - score_i) / 2``; identical rows are merged.
    Returns (unique rows, their outcomes, the map from each battle's four rows to a unique row as a
    ``(4, n_battles)`` array, and each battle's four base weights) so a bootstrap reweights by battle.
    """
    n = len(X)
    rows = np.vstack([X, -X, X, -X])
    outcome = np.concatenate([np.ones(n), np.zeros(n), np.zeros(n), np.ones(n)])
    base = np.concatenate([score, score, 1.0 - score, 1.0 - score]) / 2.0
    # -0.0 and 0.0 must merge: adding 0.0 turns every -0.0 into 0.0
    table = np.column_stack([rows + 0.0, outcome])
    unique, inverse = np.unique(table, axis=0, return_inverse=True)
    return unique[:, :-1], unique[:, -1], inverse.reshape(4, n), base.reshape(4, n)


def fit_coefficients(
    rows: np.ndarray, outcome: np.ndarray, weight: np.ndarray, C: float = WEAK_C, tol: float = 1e-10
) -> np.ndarray:
    """The logistic regression's coefficients (no intercept) for weighted rows; zero-weight rows are ignored.

    The objective is scikit-learn's: ``C`` times the summed weighted log-loss plus ``|beta|^2 / 2``."""
    used = weight > 0
    model = LogisticRegression(C=C, fit_intercept=False, tol=tol, max_iter=10_000)
    # these problems are small (rows merged; columns = models + covariates): BLAS threads only cost time
    with threadpool_limits(limits=1, user_api="blas"):
        model.fit(rows[used], outcome[used].astype(int), sample_weight=weight[used])
    return model.coef_[0].copy()


def elo_ratings(beta: np.ndarray, models: Sequence[str], anchor: str | None = None) -> np.ndarray:
    """Model strengths on the logit scale as Elo ratings: mean 1000, or ``anchor`` at 1000."""
    ratings = ELO_SCALE * np.asarray(beta, dtype=float)
    if anchor is None:
        return ratings - ratings.mean(axis=-1, keepdims=True) + ELO_BASE
    if anchor not in models:
        raise ValueError(f"the anchor {anchor!r} is not one of the models {list(models)}")
    position = list(models).index(anchor)
    return ratings - ratings[..., position : position + 1] + ELO_BASE


def fit_ratings(
    X: np.ndarray,
    score: np.ndarray,
    models: Sequence[str],
    covariates: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    anchor: str | None = None,
    C: float = WEAK_C,
) -> tuple[np.ndarray, np.ndarray]:
    """Elo ratings of ``models`` and the covariates' logit coefficients from one fit.

    ``X`` is :func:`design_matrix`'s, ``score`` A's score per battle (1, 0 or 0.5 for a tie),
    ``covariates`` extra columns (style), ``weight`` a weight per battle (a bootstrap's counts)."""
    full = X if covariates is None else np.hstack([X, covariates])
    rows, outcome, inverse, base = expand_rows(full, np.asarray(score, dtype=float))
    return _fit_expanded(rows, outcome, inverse, base, weight, len(models), list(models), anchor, C)


def _fit_expanded(rows, outcome, inverse, base, weight, n_models, models, anchor, C):
    per_row = base if weight is None else base * weight
    merged = np.bincount(inverse.ravel(), weights=per_row.ravel(), minlength=len(rows))
    beta = fit_coefficients(rows, outcome, merged, C=C)
    return elo_ratings(beta[:n_models], models, anchor), beta[n_models:]


def bootstrap(
    X: np.ndarray,
    score: np.ndarray,
    models: Sequence[str],
    covariates: np.ndarray | None = None,
    n_bootstrap: int = 100,
    seed: int | np.random.Generator | None = 0,
    anchor: str | None = None,
    C: float = WEAK_C,
) -> tuple[np.ndarray, np.ndarray]:
    """Ratings and covariate coefficients refitted on ``n_bootstrap`` resamples of the battles.

    Returns arrays of shape ``(n_bootstrap, n_models)`` and ``(n_bootstrap, n_covariates)``. Resamples are
    multinomial counts (battles drawn with replacement) from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    full = X if covariates is None else np.hstack([X, covariates])
    rows, outcome, inverse, base = expand_rows(full, np.asarray(score, dtype=float))
    n = len(X)
    n_cov = full.shape[1] - len(models)
    ratings = np.empty((n_bootstrap, len(models)))
    coefficients = np.empty((n_bootstrap, n_cov))
    for b in range(n_bootstrap):
        counts = rng.multinomial(n, np.full(n, 1.0 / n)).astype(float)
        ratings[b], coefficients[b] = _fit_expanded(
            rows, outcome, inverse, base, counts, len(models), list(models), anchor, C
        )
    return ratings, coefficients


def _percentiles(samples: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    if not 0 < interval < 1:
        raise ValueError(f"interval must be between 0 and 1, got {interval}")
    if len(samples) == 0:
        nan = np.full(samples.shape[1], np.nan)
        return nan, nan.copy()
    tail = 50.0 * (1.0 - interval)
    return np.percentile(samples, tail, axis=0), np.percentile(samples, 100.0 - tail, axis=0)


# ---------------------------------------------------------------- public


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
    ``upper``), ``n_battles`` (battles used), ``control`` and ``anchor``.

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
    if _control_names(control):
        if features is None:
            features = compute_style_features(battles.loc[outcomes.index], control, featurizer_options)
        covariates, names, _ = style_matrix(features, outcomes.index, control)

    ratings, coefficients = fit_ratings(X, score, models, covariates, anchor=anchor, C=C)
    boot_ratings, boot_coefficients = bootstrap(X, score, models, covariates, n_bootstrap, seed, anchor, C)
    lower, upper = _percentiles(boot_ratings, interval)
    table = pd.DataFrame({"rating": ratings, "lower": lower, "upper": upper}, index=pd.Index(models, name="model"))
    table = table.iloc[np.lexsort((np.arange(len(models)), -ratings))]

    coefficient_lower, coefficient_upper = _percentiles(boot_coefficients, interval)
    table.attrs["style_coefficients"] = pd.Series(coefficients, index=names, name="coefficient", dtype=float)
    table.attrs["style_intervals"] = pd.DataFrame(
        {"coefficient": coefficients, "lower": coefficient_lower, "upper": coefficient_upper}, index=names
    )
    table.attrs["n_battles"] = len(outcomes)
    table.attrs["control"] = _control_names(control)
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
    if not _control_names(control):
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
