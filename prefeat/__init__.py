"""prefeat: predict which of two chatbot answers a person prefers, with classical machine learning."""

__version__ = "0.3.0"

from prefeat.data import BattleDataError, load_battles, swap_battles
from prefeat.features import FAMILIES, PRESETS, ArenaFeaturizer, FeaturizerSettings, family_of, swap_feature_frame
from prefeat.pipeline import PipelineError, PreferencePipeline, load_pipeline
from prefeat.ratings import leaderboard

__all__ = [
    "FAMILIES",
    "PRESETS",
    "ArenaFeaturizer",
    "BattleDataError",
    "FeaturizerSettings",
    "PipelineError",
    "PreferencePipeline",
    "family_of",
    "leaderboard",
    "load_battles",
    "load_pipeline",
    "swap_battles",
    "swap_feature_frame",
]
