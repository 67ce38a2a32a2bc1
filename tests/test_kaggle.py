"""The offline Kaggle path: a wheelhouse install in a fresh interpreter, no network, a saved pipeline."""

import shutil
import subprocess
import sys
import sysconfig

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, make_battles, trained_pipeline

from prefeat import FeaturizerSettings, load_battles, load_pipeline
from prefeat.features.families.embedding import STATIC_MODEL
from prefeat.pipeline import SUBMISSION_COLUMNS

sys.path.insert(0, str(REPO / "experiments"))
import build_wheelhouse


def network_is_cut() -> bool:
    """Whether ``unshare -n`` can run a command in a network namespace of its own (root on Linux)."""
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "-n", "true"]).returncode == 0


def kaggle_like_inputs(root):
    """/kaggle/input laid out under ``root``: a trained pipeline, a wheelhouse and the competition's test.csv."""
    inputs = root / "input"
    make_battles(80, seed=4).to_csv(root / "train.csv", index=False)
    battles = load_battles(root / "train.csv")
    settings = FeaturizerSettings(families=["length", "formatting", "embedding"], embedding_model=STATIC_MODEL)
    models = {"linear": None, "lexical": None, "catboost": {"iterations": 100}}
    pipeline = trained_pipeline(battles, settings, root / "training-cache", models)
    pipeline.save(inputs / "prefeat-pipeline")
    build_wheelhouse.build(inputs / "prefeat-wheelhouse", extras=())
    test = make_battles(25, seed=9).drop(columns=["model_a", "model_b", *SUBMISSION_COLUMNS])
    (inputs / "llm-classification-finetuning").mkdir(parents=True)
    test.to_csv(inputs / "llm-classification-finetuning" / "test.csv", index=False)
    return inputs


def image_without_prefeat(root):
    """A fresh interpreter that sees this environment's packages (Kaggle's image) but not prefeat."""
    image = root / "image"
    subprocess.run([sys.executable, "-m", "venv", str(image)], check=True)
    site = subprocess.run(
        [str(image / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # a path entry, not a site dir: this environment's .pth files (prefeat's editable install) stay unread
    (root / "image-packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    shutil.copy(root / "image-packages.pth", site)
    return image / "bin" / "python"


@pytest.mark.skipif(not network_is_cut(), reason="needs `unshare -n` (root on Linux) to run without network")
def test_notebook_installs_from_the_wheelhouse_and_predicts_offline(tmp_path):
    inputs = kaggle_like_inputs(tmp_path)
    python = image_without_prefeat(tmp_path)
    absent = subprocess.run([str(python), "-c", "import prefeat"], capture_output=True, cwd=tmp_path)
    assert absent.returncode != 0  # the image has no prefeat before the install
    out, cache = tmp_path / "working" / "submission.csv", tmp_path / "working" / "cache"
    command = ["unshare", "-n", str(python), str(REPO / "experiments" / "kaggle_notebook.py")]
    command += ["--wheelhouse", str(inputs / "prefeat-wheelhouse"), "--pipeline", str(inputs / "prefeat-pipeline")]
    command += ["--test", str(inputs / "llm-classification-finetuning" / "test.csv"), "--out", str(out)]
    command += ["--cache", str(cache)]
    ran = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"from {tmp_path / 'image'}" in ran.stdout  # imported from the wheel it installed, not from the repo

    submission = pd.read_csv(out)
    test = pd.read_csv(inputs / "llm-classification-finetuning" / "test.csv")
    assert submission["id"].tolist() == test["id"].tolist()
    here = load_pipeline(inputs / "prefeat-pipeline", cache_dir=tmp_path / "training-cache", show_progress=False)
    expected = here.predict_proba(load_battles(inputs / "llm-classification-finetuning" / "test.csv"))
    np.testing.assert_allclose(submission[list(SUBMISSION_COLUMNS)], expected[list(SUBMISSION_COLUMNS)], atol=1e-9)
