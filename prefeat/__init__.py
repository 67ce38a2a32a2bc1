"""prefeat: predict which of two chatbot answers a person prefers, with classical machine learning."""

from prefeat.featurizer import ArenaFeaturizer
from prefeat.io import BattleDataError, load_battles, swap_battles
from prefeat.registry import FAMILIES, PRESETS, family_of, swap_feature_frame

__all__ = [
    "FAMILIES",
    "PRESETS",
    "ArenaFeaturizer",
    "BattleDataError",
    "family_of",
    "load_battles",
    "swap_battles",
    "swap_feature_frame",
]
__version__ = "0.1.0"
