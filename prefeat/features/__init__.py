"""Featurize: the registry of feature families, their settings, the featurizer and its on-disk cache.

Each family is one module in :mod:`prefeat.features.families`; columns follow the scheme of
:mod:`prefeat.features.columns`.
"""

from prefeat.features.columns import family_of, swap_feature_frame
from prefeat.features.featurizer import ArenaFeaturizer
from prefeat.features.registry import FAMILIES, PRESETS
from prefeat.features.settings import FeaturizerSettings

__all__ = ["FAMILIES", "PRESETS", "ArenaFeaturizer", "FeaturizerSettings", "family_of", "swap_feature_frame"]
