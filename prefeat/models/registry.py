"""The models by name: the linear, lexical and identity models and the three boosters, made, and loaded from their
saved form."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from prefeat.models.base import PreferenceModel
from prefeat.models.boosters import CatBoostModel, HGBModel, XGBoostModel
from prefeat.models.identity import IdentityModel
from prefeat.models.lexical import LexicalModel
from prefeat.models.linear import LinearModel

BOOSTERS = (XGBoostModel, CatBoostModel, HGBModel)
# the linear models first: they tune quickly and leave their share of a joint budget to the boosters
MODELS: dict[str, type[PreferenceModel]] = {
    cls.name: cls for cls in (LinearModel, LexicalModel, IdentityModel, *BOOSTERS)
}
# the study's models unless told otherwise: the identity model learns from model names, which not every
# training file has, and stays out of the default until a benchmark shows that it pays (BENCHMARKS.md)
DEFAULT_MODELS: tuple[str, ...] = tuple(name for name in MODELS if name != IdentityModel.name)


def load_model(folder, name: str) -> PreferenceModel:
    """A model written by :meth:`PreferenceModel.save`, ready to predict."""
    folder = Path(folder)
    meta = json.loads((folder / f"{name}.json").read_text())
    # n_jobs is the training machine's: a loaded model uses this machine's count
    model = make_model(meta["model"], **{k: v for k, v in meta["init"].items() if k != "n_jobs"})
    model.booster_ = model._load_booster(folder / f"{model.name}{model.booster_suffix}")
    model._set_columns(list(meta["columns"]))
    if meta["named_features"]:
        model.feature_names_in_ = np.array(model.columns_, dtype=object)
    return model


def make_model(name: str, params: dict | None = None, **kwargs) -> PreferenceModel:
    if name not in MODELS:
        raise ValueError(f"unknown model '{name}'; known: {list(MODELS)}")
    return MODELS[name](params=params, **kwargs)
