"""The report's leaderboard: the models the training battles name, rated from their votes, raw and style-controlled."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from prefeat.ratings import leaderboard, leaderboard_figure, leaderboard_table
from prefeat.ratings.bradley_terry import battle_outcomes, model_names
from prefeat.ratings.style import style_columns

# one length column: characters, words and tokens are collinear, so their separate coefficients swing
STYLE_CONTROL = ("length__tokens", "formatting")


def named_models_problem(train: pd.DataFrame) -> str | None:
    """Why the training battles cannot rate their models (no names, fewer than two), or None when they can."""
    try:
        model_names(battle_outcomes(train))
    except ValueError as error:
        return str(error)
    return None


def models_leaderboard(train: pd.DataFrame, features: pd.DataFrame, seed: int, figure: Path) -> pd.DataFrame | str:
    """The raw and style-controlled leaderboard (``leaderboard_table``) with its figure written to ``figure``;
    the raw one alone when the features lack the control's columns; the reason as a string when there is none.
    ``features`` is the study's feature table, row for row in ``train``'s order (its index may differ: the
    study's is the battle ids), so no feature is computed again."""
    problem = named_models_problem(train)
    if problem is not None:
        return problem
    try:
        style_columns(features.columns, STYLE_CONTROL)
    except ValueError:
        table = leaderboard(train, seed=seed)
    else:
        table = leaderboard_table(train, STYLE_CONTROL, seed=seed, features=features.set_axis(train.index))
    figure.parent.mkdir(parents=True, exist_ok=True)
    leaderboard_figure(table, figure, title=f"{len(table)} models, {table.attrs['n_battles']} battles")
    return table
