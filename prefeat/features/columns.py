"""The column scheme: ``family__metric__role``, and what swapping answers A and B does to each column.

Roles are ``prompt``, ``a``, ``b``, ``diff`` (a - b), ``normdiff`` ((a - b) / (|a| + |b| + 1)) and
``pair`` (a symmetric value of both answers), so every column maps back to its family and its
swap partner.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

SIDE_ROLES = ("a", "b", "diff", "normdiff")
COMPARISON_ROLES = ("normdiff", "pair")


def family_of(column: str) -> str:
    """The family a feature column comes from."""
    return column.split("__", 1)[0]


def comparison_columns(
    columns, families: Sequence[str] | None = None, roles: Sequence[str] = COMPARISON_ROLES
) -> list[str]:
    """The bounded A-vs-B columns (``normdiff`` and ``pair``), optionally of some families only.

    Raw ``diff`` columns are heavy-tailed (a 20,000-character difference), which a linear model
    cannot use; these are bounded and still carry the comparison. ``roles`` names other roles to keep.
    """
    return [
        column
        for column in columns
        if column.rpartition("__")[2] in roles and (families is None or family_of(column) in families)
    ]


def side_columns(family: str, metrics: Sequence[str]) -> list[str]:
    """The names of :func:`side_block`'s columns: each metric's ``a``, ``b``, ``diff`` and ``normdiff``."""
    return [f"{family}__{metric}__{role}" for metric in metrics for role in SIDE_ROLES]


def side_block(side_a: np.ndarray, side_b: np.ndarray) -> np.ndarray:
    """Per-side values (one column per metric) with their ``a - b`` and ``(a - b) / (|a| + |b| + 1)``,
    metric by metric in :func:`side_columns`' order."""
    diff = side_a - side_b
    normdiff = diff / (np.abs(side_a) + np.abs(side_b) + 1.0)
    return np.stack([side_a, side_b, diff, normdiff], axis=2).reshape(len(side_a), -1)


def swapped_column(column: str) -> tuple[str, float]:
    """The column that holds this one's value when A and B swap, and the sign to apply."""
    stem, _, role = column.rpartition("__")
    if role in ("a", "b"):
        return f"{stem}__{'b' if role == 'a' else 'a'}", 1.0
    if role in ("diff", "normdiff"):
        return column, -1.0
    return column, 1.0


def swap_feature_frame(features):
    """Features of the same battles with A and B swapped, from the column names alone."""
    mapping = [swapped_column(column) for column in features.columns]
    data = {column: features[source] * sign for column, (source, sign) in zip(features.columns, mapping, strict=True)}
    return pd.DataFrame(data, index=features.index)[list(features.columns)]
