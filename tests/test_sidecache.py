"""The on-disk cache never serves numbers that the current code would not compute."""

import importlib.util
import os
import subprocess
import sys

import pytest
from conftest import REPO

from prefeat import ArenaFeaturizer, load_battles
from prefeat.features.registry import FAMILIES, FeatureFamily
from prefeat.fingerprint import fingerprint

FAMILY_CODE = """
import numpy as np

METRICS = ("shout",)
FACTOR = {factor}


def compute(sides):
    return np.array([[FACTOR * sum(t.count("!") for t in turns)] for turns in sides], dtype=float)
"""


def family_from(folder, factor: float) -> FeatureFamily:
    """A family whose module source is written to ``folder`` with the given constant, then imported."""
    path = folder / f"shout_{str(factor).replace('.', '_')}.py"
    path.write_text(FAMILY_CODE.format(factor=factor))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return FeatureFamily(
        name="shout",
        cost="cheap",
        compute=module.compute,
        side_metrics=module.METRICS,
        fingerprint=fingerprint([module]),
    )


def shout_values(battles, cache_dir):
    featurizer = ArenaFeaturizer(families=["shout"], cache_dir=cache_dir, show_progress=False, n_jobs=1)
    return featurizer.set_output(transform="pandas").fit_transform(battles)["shout__shout__a"].to_numpy()


def test_editing_a_family_misses_the_cache(battles_csv, cache_dir, tmp_path, monkeypatch):
    battles = load_battles(battles_csv)
    battles.at[0, "response_a"] = ["Wow!!"]
    monkeypatch.setitem(FAMILIES, "shout", family_from(tmp_path, 1.0))
    assert shout_values(battles, cache_dir)[0] == 2.0
    edited = family_from(tmp_path, 10.0)
    assert edited.cache_key != FAMILIES["shout"].cache_key
    monkeypatch.setitem(FAMILIES, "shout", edited)
    assert shout_values(battles, cache_dir)[0] == 20.0  # computed by the new code, not read from the cache
    assert len(list(cache_dir.glob("shout-*"))) == 2


def test_the_shipped_families_key_by_their_code():
    keys = {name: family.cache_key for name, family in FAMILIES.items()}
    assert len(set(keys.values())) == len(keys)
    assert all(key.startswith(f"{name}-") and len(key) == len(name) + 17 for name, key in keys.items())


@pytest.mark.parametrize("name", ["length", "refusal"])
def test_fingerprint_covers_source_parameters_and_packages(name):
    from prefeat.features.families import length, refusal

    module = {"length": length, "refusal": refusal}[name]
    assert FAMILIES[name].fingerprint == fingerprint([module])
    assert fingerprint([module], {"option": 1}) != fingerprint([module])
    assert fingerprint([module], packages=["numpy"]) != fingerprint([module])
    # the same in a fresh process with another hash seed: a key that a rerun can find again
    code = f"from prefeat.fingerprint import fingerprint; from prefeat.features.families import {name}; "
    code += f"print(fingerprint([{name}]))"
    environment = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    assert fresh.stdout.strip() == fingerprint([module])
