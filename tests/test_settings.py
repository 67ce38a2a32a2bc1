import dataclasses
import inspect
import sys

import numpy as np
import pytest
from conftest import REPO

from prefeat import ArenaFeaturizer, FeaturizerSettings
from prefeat.features.settings import DEFAULTS
from prefeat.study import StudyConfig
from prefeat.study.tuning import DEFAULT_TIME_BUDGET, DEFAULT_TRIALS, tune

sys.path.insert(0, str(REPO / "experiments"))
import run_all


def test_every_default_is_defined_once():
    featurizer = ArenaFeaturizer().with_learned({"embedding": {}})
    assert featurizer.settings_ == DEFAULTS == FeaturizerSettings()
    assert StudyConfig(train="t", out="o").features == DEFAULTS
    assert run_all.feature_settings(run_all.parse_args([])) == DEFAULTS
    study = StudyConfig(train="t", out="o")
    tune_defaults = inspect.signature(tune).parameters
    args = run_all.parse_args([])
    assert study.trials == args.trials == tune_defaults["n_trials"].default == DEFAULT_TRIALS
    assert study.time_budget == args.time_budget == tune_defaults["time_budget"].default == DEFAULT_TIME_BUDGET
    assert study.storage is None and args.storage is None


def test_settings_resolve_presets_and_round_trip_through_json():
    settings = FeaturizerSettings(families="cheap", embedding_max_length=64)
    assert settings.families == ("length", "formatting", "refusal", "content")
    assert FeaturizerSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(ValueError, match="unknown featurizer settings"):
        FeaturizerSettings.from_dict({"families": ["length"], "colour": "red"})
    with pytest.raises(ValueError, match="unknown feature families"):
        FeaturizerSettings(families=["colour"])


def test_fingerprint_changes_with_every_option_that_changes_values_and_only_those():
    base, minilm = FeaturizerSettings(), FeaturizerSettings(embedding_model="minilm")
    changed = [
        minilm,
        dataclasses.replace(base, families=("length",)),
        dataclasses.replace(base, batch_size=8),
        dataclasses.replace(minilm, embedding_max_length=64),
        dataclasses.replace(minilm, embedding_int8=True),
        dataclasses.replace(base, embedding_components=4),
        dataclasses.replace(base, prompt_topics=0),
    ]
    prints = {settings.fingerprint() for settings in changed}
    assert len(prints) == len(changed) and base.fingerprint() not in prints
    assert "n_jobs" not in base.to_dict()  # the machine's cores are no setting of the features
    assert FeaturizerSettings.from_dict({**base.to_dict(), "n_jobs": 2}) == base  # as pipelines once saved it
    # a static model has no token limit and no transformer layers to quantize
    assert dataclasses.replace(base, embedding_max_length=64, embedding_int8=True).fingerprint() == base.fingerprint()


def test_featurizer_from_settings_and_sklearn_params_agree(battles_csv, cache_dir):
    from prefeat import load_battles

    settings = FeaturizerSettings(families="cheap")
    battles = load_battles(battles_csv)
    built = ArenaFeaturizer.from_settings(settings, cache_dir=cache_dir, show_progress=False, n_jobs=1)
    assert list(built.get_params()["families"]) == ["length", "formatting", "refusal", "content"]
    by_hand = ArenaFeaturizer(families="cheap", n_jobs=1, cache_dir=cache_dir, show_progress=False)
    np.testing.assert_array_equal(built.fit_transform(battles), by_hand.fit_transform(battles))
