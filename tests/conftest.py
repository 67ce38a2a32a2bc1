import json
import os
from pathlib import Path


def pin_xdist_worker() -> None:
    """Give each pytest-xdist worker its own share of the cores (worker k of n: every n-th core from k).

    prefeat sizes every thread pool from the cores this process may use (prefeat.threads), so without this
    each of two workers on a 2-core machine runs 2-thread OpenMP fits beside the other's: 4 spinning threads
    on 2 cores, which slowed the fixture studies several times over. Tests that ask for more threads than
    their share (n_jobs=2 against one core) still get them, on that core. Runs before numpy is imported, so
    the BLAS and OpenMP pools start at this size; child processes inherit it."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if worker is None or count is None or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    share = cores[int(worker.removeprefix("gw")) % int(count) :: int(count)]
    os.sched_setaffinity(0, share or cores)


pin_xdist_worker()

import pandas as pd  # noqa: E402  (after the pinning: numpy's thread pools size themselves on import)
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
KAGGLE_HEAD = SHARED_DATA / "arena" / "kaggle_train_head1000.csv"

needs_shared_data = pytest.mark.skipif(not KAGGLE_HEAD.exists(), reason=f"real data not present at {SHARED_DATA}")

ANSWER_STYLES = [
    "Sure! Here is a short answer.",
    "## Steps\n\n1. First do **this**.\n2. Then do *that*.\n\n- note one\n- note two",
    "I'm sorry, but I can't help with that request.",
    "```python\nprint('hi')\n```\nUse `print` to show text. See [docs](https://docs.python.org).",
    "As an AI language model, I do not have opinions. However, many people think it depends.",
    "A long answer. " * 30,
]


def make_battles(n_rows: int = 24, seed: int = 0) -> pd.DataFrame:
    """Raw competition-format rows with a learnable signal: the longer answer tends to win."""
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n_rows):
        answer_a, answer_b = rng.sample(ANSWER_STYLES, 2)
        prompt = [f"Question number {i % (n_rows // 2 or 1)}: how do I do thing {i % 5}?"]
        if len(answer_a) == len(answer_b) or rng.random() < 0.25:
            winner = 2
        else:
            winner = 0 if (len(answer_a) > len(answer_b)) ^ (rng.random() < 0.2) else 1
        rows.append(
            {
                "id": 1000 + i,
                "model_a": "model-x",
                "model_b": "model-y",
                "prompt": json.dumps(prompt),
                "response_a": json.dumps([answer_a]),
                "response_b": json.dumps([answer_b]),
                "winner_model_a": int(winner == 0),
                "winner_model_b": int(winner == 1),
                "winner_tie": int(winner == 2),
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture
def battles_csv(tmp_path):
    path = tmp_path / "train.csv"
    make_battles().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def distilled_static_model(tmp_path_factory):
    """The static embedding model, distilled once per session (about a minute) rather than once per test.

    Under pytest-xdist the workers share one folder (their temporary folders' parent): the first to ask
    distils, the others wait for it (``make_once``)."""
    import os

    from prefeat.features.families import embedding

    root = tmp_path_factory.getbasetemp()
    shared = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")  # offline, as on Kaggle: a hub download fails instead of passing
        return embedding.distilled_static_path(shared / "static-model")


def cache_holding_static_model(folder: Path, distilled: Path) -> Path:
    """``folder`` as a feature cache that already holds the session's distilled static model."""
    import shutil

    from prefeat.features.families import embedding

    shutil.copytree(distilled, embedding.static_model_folder(folder))
    return folder


@pytest.fixture
def cache_dir(tmp_path, distilled_static_model):
    """An empty feature cache that already holds the distilled static model."""
    return cache_holding_static_model(tmp_path / "cache", distilled_static_model)


def featurized_fixture(n_rows: int = 200):
    """Fixture battles (as loaded), their cheap-preset features and labels."""
    import tempfile

    from prefeat import ArenaFeaturizer, load_battles

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.csv"
        make_battles(n_rows).to_csv(path, index=False)
        battles = load_battles(path)
    featurizer = ArenaFeaturizer(families="cheap", cache_dir=False, show_progress=False)
    features = featurizer.set_output(transform="pandas").fit_transform(battles)
    return battles, features, battles["label"].to_numpy(dtype=int)


@pytest.fixture(scope="module")
def dataset():
    """200 fixture battles, their cheap-preset features and labels, shared by the model-level tests."""
    return featurized_fixture(200)


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL server on 127.0.0.1 for the session; skips, saying why, where there is none."""
    from prefeat.study.postgres import postgres_bin, throwaway_postgres

    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed and `make` could not install it (apt-get install -y postgresql)")
    with throwaway_postgres() as url:
        yield url


def trained_pipeline(battles, settings, cache_dir, models: dict):
    """A pipeline of ``models`` ({name: params}) fitted on what each reads, its featurizer fitted on ``battles``."""
    from prefeat import ArenaFeaturizer, PreferencePipeline
    from prefeat.models import make_model
    from prefeat.models.stacking import Stacker

    featurizer = ArenaFeaturizer.from_settings(settings, cache_dir=cache_dir, show_progress=False).fit(battles)
    unfitted = {name: make_model(name, params) for name, params in models.items()}
    pipeline = PreferencePipeline(
        settings, unfitted, Stacker(), cache_dir=cache_dir, show_progress=False, learned=featurizer.learned_
    )
    inputs, y = pipeline.inputs(battles), battles["label"].to_numpy(dtype=int)
    for model in pipeline.models.values():
        model.fit(inputs[model.reads], y)
    pipeline.stacker.fit([model.predict_proba(inputs[model.reads]) for model in pipeline.models.values()], y)
    return pipeline
