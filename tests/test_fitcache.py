"""The fit cache never serves a fit that the current code would not make."""

import shutil

import numpy as np
import pytest

from prefeat import fingerprint
from prefeat.models import make_model
from prefeat.study.fitcache import FitCache, fit_key
from prefeat.study.folds import assign_folds
from prefeat.study.oof import cross_validate
from prefeat.study.plan import CVPlan


@pytest.fixture
def plan(dataset):
    battles, features, y = dataset
    folds = assign_folds(battles, seed=0)
    return CVPlan(features, y, folds["fold"].to_numpy(), folds["group"].to_numpy())


def package_copy(folder, edit: str | None = None):
    """A copy of prefeat's source under ``folder``, with a comment appended to the file ``edit``."""
    copy = shutil.copytree(fingerprint.PACKAGE_ROOT, folder / "prefeat", ignore=shutil.ignore_patterns("__pycache__"))
    if edit is not None:
        path = copy / edit
        path.write_text(path.read_text() + "\n# an edit that changes no behaviour, still a new key\n")
    return copy


@pytest.mark.parametrize("edited", ["models/ngrams.py", "features/columns.py", "study/oof.py", "metrics.py"])
def test_an_edit_anywhere_in_prefeat_misses_the_fit_cache(plan, tmp_path, monkeypatch, edited):
    params = {"C": 0.1}
    cache = FitCache(tmp_path / "cache")
    key = fit_key("linear", params, plan)
    cv = cross_validate("linear", params, plan)
    cache.save(key, cv, make_model("linear", params).fit(plan.X, plan.y), 0.0)
    assert cache.load(key, "linear") is not None

    monkeypatch.setattr(fingerprint, "PACKAGE_ROOT", package_copy(tmp_path / "same"))
    assert fit_key("linear", params, plan) == key  # the same source anywhere: the same key
    cached = cache.load(fit_key("linear", params, plan), "linear")
    np.testing.assert_array_equal(cached[0].oof, cv.oof)

    monkeypatch.setattr(fingerprint, "PACKAGE_ROOT", package_copy(tmp_path / "edited", edited))
    assert fit_key("linear", params, plan) != key
    assert cache.load(fit_key("linear", params, plan), "linear") is None


def test_the_key_follows_the_model_its_parameters_and_the_plan(plan):
    import dataclasses

    key = fit_key("linear", {"C": 0.1}, plan)
    assert fit_key("linear", {"C": 0.2}, plan) != key
    assert fit_key("hgb", {"C": 0.1}, plan) != key
    assert fit_key("linear", {"C": 0.1}, dataclasses.replace(plan, seed=1)) != key
    assert fit_key("linear", {"C": 0.1}, dataclasses.replace(plan, y=plan.y[::-1].copy())) != key
