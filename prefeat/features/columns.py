"""The column scheme: ``family__metric__role``, and what swapping answers A and B does to each column.

Roles are ``prompt``, ``a``, ``b``, ``diff`` (a - b), ``normdiff`` ((a - b) / (|a| + |b| + 1)) and
``pair`` (a symmetric value of both answers), so every column maps back to its family and its
swap partner.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

SIDE_ROLES = ("a", "b", "diff", "normdiff")
COMPARISON_ROLES = ("normdiff", "pair")


def family_of(column: str) -> str:
    """The family a feature column comes from."""
    return column.split("__", 1)[0]


def comparison_columns(columns, families: Sequence[str] | None = None) -> list[str]:
    """The bounded A-vs-B columns (``normdiff`` and ``pair``), optionally of some families only.

    Raw ``diff`` columns are heavy-tailed (a 20,000-character difference), which a linear model
    cannot use; these are bounded and still carry the comparison.
    """
    return [
        column
        for column in columns
        if column.rpartition("__")[2] in COMPARISON_ROLES and (families is None or family_of(column) in families)
    ]


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
