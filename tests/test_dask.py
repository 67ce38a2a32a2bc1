"""Featurization on a Dask cluster gives exactly the in-process numbers, and still uses the cache."""

import pandas as pd
import pytest
from conftest import KAGGLE_HEAD, needs_shared_data

from prefeat import ArenaFeaturizer, load_battles
from prefeat.features.featurizer import dask_scheduler
from prefeat.features.settings import DEFAULTS

ROWS = 150


def featurize(battles, **options):
    featurizer = ArenaFeaturizer(show_progress=False, batch_size=8, **options)  # 128-side partitions: several
    return featurizer.set_output(transform="pandas").fit_transform(battles)


@pytest.fixture(scope="module")
def cluster():
    with dask_scheduler("local", n_jobs=2) as address:
        yield address


@needs_shared_data
def test_dask_features_equal_in_process_features_on_real_rows(cluster, tmp_path):
    battles = load_battles(KAGGLE_HEAD).head(ROWS)
    here = featurize(battles, cache_dir=False, n_jobs=1)
    on_dask = featurize(battles, cache_dir=False, scheduler=cluster)
    pd.testing.assert_frame_equal(on_dask, here, check_exact=True)
    assert list(here.columns) == DEFAULTS.columns()  # every family, the learned columns too


def test_dask_fills_the_cache_and_a_second_run_reads_it(cluster, battles_csv, tmp_path):
    battles = load_battles(battles_csv)
    first = featurize(battles, cache_dir=tmp_path / "cache", families="cheap", scheduler=cluster)
    shards = sorted((tmp_path / "cache").rglob("*.npz"))
    assert shards
    second = featurize(battles, cache_dir=tmp_path / "cache", families="cheap", scheduler=cluster)
    assert sorted((tmp_path / "cache").rglob("*.npz")) == shards  # nothing computed again
    pd.testing.assert_frame_equal(first, second, check_exact=True)


def test_local_scheduler_starts_and_stops_its_own_cluster(battles_csv):
    battles = load_battles(battles_csv)
    local = featurize(battles, cache_dir=False, families="cheap", scheduler="local", n_jobs=1)
    pd.testing.assert_frame_equal(local, featurize(battles, cache_dir=False, families="cheap"), check_exact=True)


def test_fit_transform_starts_one_local_cluster_for_fit_and_transform(battles_csv, cache_dir, monkeypatch):
    from prefeat.features import featurizer as module

    started, real = [], module.dask_scheduler
    monkeypatch.setattr(module, "dask_scheduler", lambda *args: started.append(args[0]) or real(*args))
    battles = load_battles(battles_csv)
    fitted = ArenaFeaturizer(families=["length", "embedding"], cache_dir=cache_dir, scheduler="local", n_jobs=1)
    fitted.set_params(show_progress=False).fit_transform(battles)
    assert fitted.learned_["embedding"]  # the embedding family learns in fit: fit needs the cluster too
    assert started == ["local"]
