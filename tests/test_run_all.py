"""End to end: the study on a small fixture with the cheap preset and a few trials."""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, make_battles

from prefeat.metrics import log_loss
from prefeat.oof import read_predictions

sys.path.insert(0, str(REPO / "experiments"))
import run_all

MODELS = ("linear", "xgboost", "catboost", "hgb")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    train = make_battles(120, seed=1)
    train.to_csv(root / "train.csv", index=False)
    test = train[["id", "prompt", "response_a", "response_b"]].sample(12, random_state=0).copy()
    test["id"] = test["id"] + 50_000
    test.iloc[0, test.columns.get_loc("response_b")] = "[null]"
    test.iloc[1, test.columns.get_loc("prompt")] = '[""]'
    test.to_csv(root / "test.csv", index=False)
    argv = ["--train", str(root / "train.csv"), "--test", str(root / "test.csv"), "--out", str(root / "run")]
    argv += ["--preset", "cheap", "--trials", "2", "--storage", f"sqlite:///{root / 'optuna.db'}"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFEAT_CACHE", str(root / "cache"))
        assert run_all.main(argv) == 0
    assert (root / "cache").exists()
    return root, train, test


def test_every_promised_file_exists(finished_run):
    root, _, _ = finished_run
    run = root / "run"
    expected = ["report.md", "results.json", "submission.csv", "folds.parquet", "figures/reliability.png"]
    expected += ["figures/learning_curve.png", "oof/average.parquet", "oof/stack.parquet"]
    for name in MODELS:
        expected += [f"oof/{name}.parquet", f"test/{name}.parquet", f"models/{name}.pkl", f"tuning/{name}_best.json"]
        expected += [f"shap/shap_{name}_{kind}.png" for kind in ("bar", "beeswarm", "families")]
        assert len(list((run / "shap").glob(f"shap_{name}_waterfall_*.png"))) == 3
    missing = [name for name in expected if not (run / name).exists()]
    assert missing == []
    assert (root / "optuna.db").exists()


def test_submission_is_valid_for_every_test_id_in_order(finished_run):
    root, _, test = finished_run
    submission = pd.read_csv(root / "run" / "submission.csv")
    assert submission.columns.tolist() == ["id", "winner_model_a", "winner_model_b", "winner_tie"]
    assert submission["id"].tolist() == test["id"].tolist()
    proba = submission[["winner_model_a", "winner_model_b", "winner_tie"]].to_numpy()
    assert ((proba > 0) & (proba < 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)


def reported_log_loss(report: str, model: str) -> float:
    row = re.search(rf"^\| {re.escape(model)} \| ([0-9.]+) \|", report, re.MULTILINE)
    return float(row.group(1))


def test_reported_log_loss_recomputes_from_saved_out_of_fold_predictions(finished_run):
    root, train, _ = finished_run
    run = root / "run"
    report = (run / "report.md").read_text()
    labels = train[["winner_model_a", "winner_model_b", "winner_tie"]].to_numpy().argmax(axis=1)
    ids = train["id"].astype(str)
    for name in (*MODELS, "average", "stack"):
        recomputed = log_loss(labels, read_predictions(run / "oof" / f"{name}.parquet", ids))
        assert reported_log_loss(report, name) == pytest.approx(recomputed, abs=5e-5)


def test_report_records_config_versions_and_data_hash(finished_run):
    root, _, _ = finished_run
    report = (root / "run" / "report.md").read_text()
    record = json.loads(report.split("```json\n", 1)[1].split("\n```", 1)[0])
    assert record["config"]["seed"] == 0
    assert len(record["data_digests"]["train"]) == 32
    assert "xgboost-cpu" in record["versions"]
    assert "Comparison of the models" in report


def test_out_of_fold_folds_group_by_prompt(finished_run):
    root, _, _ = finished_run
    folds = pd.read_parquet(root / "run" / "folds.parquet")
    assert (folds.groupby("group")["fold"].nunique() == 1).all()


def test_missing_training_data_without_network_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run_all, "ensure_train", _offline)
    assert run_all.main(["--train", str(tmp_path / "train.csv")]) == 2
    error = capsys.readouterr().err
    assert "kaggle competitions download" in error
    assert len(error.strip().splitlines()) == 1


def _offline(path):
    from prefeat.fetch import fetch_train

    return fetch_train(path, url=Path(path).with_name("absent.csv").resolve().as_uri())


def test_models_option_picks_a_subset_and_names_unknown_ones(capsys):
    assert run_all.parse_args(["--models", "catboost, linear"]).models == ("catboost", "linear")
    assert run_all.parse_args([]).models == MODELS
    with pytest.raises(SystemExit):
        run_all.parse_args(["--models", "xgboost,lightgbm"])
    assert "lightgbm" in capsys.readouterr().err
