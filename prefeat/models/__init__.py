"""Models: symmetric estimators of P(A), P(B), P(tie) (three boosters, a linear, a lexical and an identity
model) and the stacker.

The boosters and the linear model read the feature table; the lexical and identity models read the answers'
texts (the identity model, in ``fit``, also their authors' names).
"""

from prefeat.models.base import PreferenceModel
from prefeat.models.boosters import CatBoostModel, HGBModel, XGBoostModel
from prefeat.models.identity import IdentityModel
from prefeat.models.lexical import LexicalModel
from prefeat.models.linear import LinearModel
from prefeat.models.registry import BOOSTERS, DEFAULT_MODELS, MODELS, load_model, make_model
from prefeat.models.stacking import Stacker

__all__ = [
    "BOOSTERS",
    "DEFAULT_MODELS",
    "MODELS",
    "CatBoostModel",
    "HGBModel",
    "IdentityModel",
    "LexicalModel",
    "LinearModel",
    "PreferenceModel",
    "Stacker",
    "XGBoostModel",
    "load_model",
    "make_model",
]
