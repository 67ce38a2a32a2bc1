import dataclasses

import numpy as np
import pandas as pd

from prefeat.study.plan import CVPlan, grouped_subsample, tuning_split


def small_plan(seed=0) -> CVPlan:
    X = pd.DataFrame({"x": np.arange(8.0)}, index=[f"id{i}" for i in range(8)])
    return CVPlan(X, np.array([0, 1, 2, 0, 1, 2, 0, 1]), np.arange(8) % 2, np.arange(8) // 2, seed)


def test_grouped_subsample_keeps_whole_prompt_groups():
    groups = np.repeat(np.arange(50), 4)  # 50 prompts, 4 battles each
    kept = grouped_subsample(groups, 60, seed=0)
    assert 60 <= kept.sum() < 64
    assert all(kept[groups == g].all() or not kept[groups == g].any() for g in range(50))
    np.testing.assert_array_equal(kept, grouped_subsample(groups, 60, seed=0))
    assert not np.array_equal(kept, grouped_subsample(groups, 60, seed=1))
    assert grouped_subsample(groups, None, seed=0).all() and grouped_subsample(groups, 500, seed=0).all()


def test_subset_keeps_each_rows_fold_group_and_settings():
    plan = dataclasses.replace(small_plan(seed=3), symmetric=False)
    rows = np.array([True, False, True, True, False, False, True, False])
    subset = plan.subset(rows)
    assert list(subset.X.index) == ["id0", "id2", "id3", "id6"]
    np.testing.assert_array_equal(subset.y, [0, 2, 0, 0])
    np.testing.assert_array_equal(subset.folds, [0, 0, 1, 0])
    np.testing.assert_array_equal(subset.groups, [0, 1, 1, 3])
    assert (subset.seed, subset.symmetric) == (3, False)


def test_digest_follows_every_part_of_the_plan():
    plan = small_plan()
    digest = plan.digest()
    assert digest == small_plan().digest()
    changed = [
        dataclasses.replace(plan, X=plan.X + 1.0),
        dataclasses.replace(plan, X=plan.X.rename(columns={"x": "y"})),
        dataclasses.replace(plan, y=plan.y[::-1].copy()),
        dataclasses.replace(plan, folds=1 - plan.folds),
        dataclasses.replace(plan, groups=plan.groups[::-1].copy()),
        dataclasses.replace(plan, seed=1),
        dataclasses.replace(plan, symmetric=False),
    ]
    assert len({digest, *(other.digest() for other in changed)}) == len(changed) + 1


def test_the_halves_tune_for_each_other_and_score_every_battle_in_whole_prompts():
    groups = np.concatenate([np.repeat(0, 30), np.repeat(np.arange(1, 41), 2)])  # one large prompt, 40 small
    split = tuning_split(groups, None, seed=0)
    assert split.crossed and split.scored.all()
    for tuned, scored in zip(split.tune, split.score, strict=True):
        assert not (tuned & scored).any()
        assert all(tuned[groups == g].all() or not tuned[groups == g].any() for g in np.unique(groups))
    assert abs(int(split.tune[0].sum()) - int(split.tune[1].sum())) <= 30  # balanced within the largest prompt
    np.testing.assert_array_equal(split.tune[0], tuning_split(groups, None, seed=0).tune[0])


def test_above_twice_tune_rows_a_held_out_subsample_tunes_and_is_not_scored():
    groups = np.repeat(np.arange(100), 3)  # 300 battles
    assert tuning_split(groups, 150, seed=0).crossed  # 300 <= 2 x 150: the halves
    split = tuning_split(groups, 60, seed=0)
    assert not split.crossed and len(split.tune) == 1
    assert 60 <= split.tune[0].sum() < 63 and not (split.tune[0] & split.scored).any()
    assert (split.tune[0] | split.scored).all()
