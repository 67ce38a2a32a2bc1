"""Models: symmetric estimators of P(A), P(B), P(tie) (three boosters, a linear and a lexical model) and the stacker.

The boosters and the linear model read the feature table; the lexical model reads the answers' texts.
"""

from prefeat.models.base import PreferenceModel
from prefeat.models.boosters import CatBoostModel, HGBModel, XGBoostModel
from prefeat.models.lexical import LexicalModel
from prefeat.models.linear import LinearModel
from prefeat.models.registry import BOOSTERS, MODELS, load_model, make_model
from prefeat.models.stacking import Stacker

__all__ = [
    "BOOSTERS",
    "MODELS",
    "CatBoostModel",
    "HGBModel",
    "LexicalModel",
    "LinearModel",
    "PreferenceModel",
    "Stacker",
    "XGBoostModel",
    "load_model",
    "make_model",
]
