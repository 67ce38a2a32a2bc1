import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import KAGGLE_HEAD, needs_shared_data

from prefeat import FAMILIES, PRESETS, ArenaFeaturizer, load_battles, swap_battles, swap_feature_frame
from prefeat.features.columns import family_of
from prefeat.features.registry import resolve_families


def featurize(battles, cache_dir, families="cheap", **kwargs):
    featurizer = ArenaFeaturizer(families=families, cache_dir=cache_dir, show_progress=False, **kwargs)
    return featurizer.set_output(transform="pandas").fit_transform(battles)


def test_column_names_say_family_metric_and_role(battles_csv, cache_dir):
    features = featurize(load_battles(battles_csv), cache_dir)
    for name in ("formatting__headers__a", "formatting__headers__b", "formatting__headers__diff"):
        assert name in features.columns
    assert "formatting__headers__normdiff" in features.columns
    assert "length__words__prompt" in features.columns
    assert {family_of(c) for c in features.columns} == set(PRESETS["cheap"])
    assert features.columns.tolist() == ArenaFeaturizer(families="cheap").fit().get_feature_names_out().tolist()


def test_default_is_every_family_and_presets_follow_cost_tags():
    default = ArenaFeaturizer().with_learned({"embedding": {}}).family_names_
    assert default == ("length", "readability", "formatting", "refusal", "content", "embedding")
    assert PRESETS["cheap"] == ("length", "formatting", "refusal", "content")
    assert all(FAMILIES[name].cost == "cheap" for name in PRESETS["cheap"])
    assert "embedding" not in PRESETS["fast"]
    assert resolve_families(["refusal", "length"]) == ("refusal", "length")
    with pytest.raises(ValueError, match="unknown feature families"):
        resolve_families(["colour"])
    with pytest.raises(ValueError, match="cost must be one of"):
        dataclasses.replace(FAMILIES["length"], cost="free")


def test_numpy_output_by_default_and_index_kept_with_pandas(battles_csv, cache_dir):
    battles = load_battles(battles_csv).iloc[3:9]
    array = ArenaFeaturizer(families="cheap", cache_dir=cache_dir, show_progress=False).fit_transform(battles)
    frame = featurize(battles, cache_dir)
    assert isinstance(array, np.ndarray)
    assert frame.index.tolist() == battles.index.tolist()
    np.testing.assert_array_equal(array, frame.to_numpy())


def test_diff_and_normdiff_are_computed_from_a_and_b(battles_csv, cache_dir):
    features = featurize(load_battles(battles_csv), cache_dir)
    a, b = features["length__words__a"], features["length__words__b"]
    np.testing.assert_allclose(features["length__words__diff"], a - b)
    np.testing.assert_allclose(features["length__words__normdiff"], (a - b) / (a + b + 1))


def test_cache_is_reused_and_keyed_by_content(battles_csv, cache_dir, monkeypatch):
    battles = load_battles(battles_csv)
    featurize(battles, cache_dir)  # computes and writes the cache
    uncached = featurize(battles, False)  # computed again, independently of any cache
    computed, may_compute = [], [False]
    original = FAMILIES["length"].compute

    def compute(sides):
        if len(sides) and not may_compute[0]:
            raise AssertionError(f"computed {len(sides)} sides that the cache holds")
        computed.append(len(sides))
        return original(sides)

    monkeypatch.setitem(FAMILIES, "length", dataclasses.replace(FAMILIES["length"], compute=compute))
    second = featurize(battles, cache_dir, families=["length"])  # every side read back from the cache
    pd.testing.assert_frame_equal(second, uncached[second.columns], check_exact=True)
    may_compute[0] = True
    changed = battles.copy()
    changed.at[0, "response_a"] = ["a brand new answer"]
    featurize(changed, cache_dir, families=["length"])
    assert sum(computed) == 1  # only the new side


def test_cache_off_gives_the_same_numbers(battles_csv, cache_dir):
    battles = load_battles(battles_csv)
    pd.testing.assert_frame_equal(featurize(battles, cache_dir), featurize(battles, False))


def test_parallel_text_families_give_the_same_numbers(cache_dir):
    from conftest import make_battles

    battles = make_battles(400)
    for column in ("prompt", "response_a", "response_b"):
        battles[column] = battles[column] + battles["id"].astype(str)  # distinct sides, no de-duplication
    serial, parallel = (
        ArenaFeaturizer(
            families="fast", cache_dir=False, batch_size=1, n_jobs=n_jobs, show_progress=False
        ).fit_transform(battles)
        for n_jobs in (1, 2)
    )
    np.testing.assert_array_equal(serial, parallel)


def test_plain_strings_and_missing_values_are_sides(cache_dir):
    battles = pd.DataFrame({"prompt": ["hi"], "response_a": ["hello there"], "response_b": [None]})
    features = featurize(battles, cache_dir)
    assert features.loc[0, "length__words__a"] == 2
    assert features.loc[0, "length__words__b"] == 0


def test_missing_side_column_is_named(cache_dir):
    with pytest.raises(ValueError, match="response_b"):
        featurize(pd.DataFrame({"prompt": ["x"], "response_a": ["y"]}), cache_dir)


def assert_swap_symmetric(battles, cache_dir, families):
    features = featurize(battles, cache_dir, families=families)
    swapped = featurize(swap_battles(battles), cache_dir, families=families)
    pd.testing.assert_frame_equal(swapped, swap_feature_frame(features), check_exact=True)
    # and by name, without the helper: every A column is the B column of the swap, diffs flip
    for column in features.columns:
        role = column.rsplit("__", 1)[1]
        if role == "a":
            assert swapped[column].equals(features[column[:-1] + "b"])
        elif role in ("diff", "normdiff"):
            assert swapped[column].equals(-features[column])


def test_swapping_answers_swaps_columns_exactly_on_fixtures(battles_csv, cache_dir):
    assert_swap_symmetric(load_battles(battles_csv), cache_dir, "all")


@needs_shared_data
def test_swapping_answers_swaps_columns_exactly_on_real_rows(cache_dir):
    battles = load_battles(KAGGLE_HEAD).iloc[:120]
    assert_swap_symmetric(battles, cache_dir, "fast")


def test_fit_learns_from_texts_only_when_a_family_does(battles_csv, cache_dir):
    battles = load_battles(battles_csv)
    with pytest.raises(ValueError, match="fit needs the battles"):
        ArenaFeaturizer().fit()
    assert ArenaFeaturizer(families="cheap").fit().learned_ == {}
    options = {"families": ["embedding"], "cache_dir": cache_dir, "show_progress": False}
    learned = ArenaFeaturizer(embedding_components=2, prompt_topics=3, **options).fit(battles).learned_
    assert learned["embedding"]["basis"].shape[0] == 2 and learned["embedding"]["centres"].shape[0] == 3
    others = {
        "labels": ArenaFeaturizer(embedding_components=2, prompt_topics=3, **options).fit(battles, y=np.zeros(24)),
        "row order": ArenaFeaturizer(embedding_components=2, prompt_topics=3, **options).fit(battles.iloc[::-1]),
    }
    for featurizer in others.values():  # neither labels nor row order change what is learned
        for key, array in learned["embedding"].items():
            np.testing.assert_array_equal(featurizer.learned_["embedding"][key], array)
    assert ArenaFeaturizer(embedding_components=0, prompt_topics=0, **options).fit().learned_ == {}
    with pytest.raises(ValueError, match="nothing learned"):
        ArenaFeaturizer(**options).with_learned({})
