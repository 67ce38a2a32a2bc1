"""Style covariates for the leaderboard: the chosen families' ``normdiff`` columns, scaled without centring."""

from __future__ import annotations

import numpy as np
import pandas as pd

STYLE_ROLE = "normdiff"


def control_names(control) -> tuple[str, ...]:
    if control is None:
        return ()
    names = (control,) if isinstance(control, str) else tuple(control)
    return tuple(dict.fromkeys(names))


def style_columns(columns, control) -> list[str]:
    """The ``normdiff`` columns that ``control`` names: a family name (``"length"``) takes all of its
    family's, a ``family__metric`` stem (``"length__tokens"``) that one only."""
    columns = list(columns)
    chosen = []
    for name in control_names(control):
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
    from prefeat.features import ArenaFeaturizer

    families = list(dict.fromkeys(name.split("__", 1)[0] for name in control_names(control)))
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
