"""End to end: the study on a small fixture with the cheap preset and a few trials."""

import io
import json
import re
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, make_battles

from prefeat.metrics import log_loss
from prefeat.models import DEFAULT_MODELS
from prefeat.study.oof import read_predictions

sys.path.insert(0, str(REPO / "experiments"))
import run_all

TREES = ("xgboost", "catboost", "hgb")


def run_study_in(root: Path, *options: str, out: str = "run") -> Path:
    """The study on root's train.csv and test.csv, with the cache and storage in ``root`` (empty at first).

    The trial budget binds, never the time budget, so what a run does (and the trial counts it prints) does
    not depend on how loaded the machine is."""
    argv = ["--train", str(root / "train.csv"), "--test", str(root / "test.csv"), "--out", str(root / out)]
    argv += ["--preset", "cheap", "--trials", "2", "--time-budget", "1e9"]
    argv += ["--storage", f"sqlite:///{root / 'optuna.db'}", *options]
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(io.StringIO()) as said:
        patch.setenv("PREFEAT_CACHE", str(root / "cache"))
        assert run_all.main(argv) == 0
    (root / f"{out}.log").write_text(said.getvalue())
    assert (root / "cache").exists()
    return root / out


def write_inputs(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    train = make_battles(120, seed=1)
    train.to_csv(root / "train.csv", index=False)
    test = train[["id", "prompt", "response_a", "response_b"]].sample(12, random_state=0).copy()
    test["id"] = test["id"] + 50_000
    test.iloc[0, test.columns.get_loc("response_b")] = "[null]"
    test.iloc[1, test.columns.get_loc("prompt")] = '[""]'
    test.to_csv(root / "test.csv", index=False)
    return train, test


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    train, test = write_inputs(root)
    run_study_in(root)
    return root, train, test


def test_every_promised_file_exists(finished_run):
    root, _, _ = finished_run
    run = root / "run"
    expected = ["report.md", "results.json", "submission.csv", "folds.parquet", "figures/reliability.png"]
    expected += ["pipeline/manifest.json", "pipeline/stacker.json", "pipeline/settings.json"]
    expected += ["figures/learning_curve.png", "oof/average.parquet", "oof/stack.parquet"]
    for name in DEFAULT_MODELS:
        expected += [f"oof/{name}.parquet", f"test/{name}.parquet", f"pipeline/models/{name}.json"]
        expected += [f"tuning/{name}_half{part}_best.json" for part in (0, 1)]
        expected += [f"shap/shap_{name}_bar.png", f"shap/shap_{name}_features.csv"]
    for name in (*TREES, "linear"):
        expected += [f"shap/shap_{name}_{kind}.png" for kind in ("beeswarm", "families")]
        assert len(list((run / "shap").glob(f"shap_{name}_waterfall_*.png"))) == 3
    expected += ["shap/lexical_top_ngrams.csv", "pipeline/featurizer.npz", "test/stack_in_memory.parquet"]
    expected += ["leaderboard.csv", "figures/leaderboard.png"]  # the fixture names two models
    missing = [name for name in expected if not (run / name).exists()]
    assert missing == []
    assert set(pd.read_csv(run / "leaderboard.csv", index_col="model").index) == {"model-x", "model-y"}
    assert "## Leaderboard of the models" in (run / "report.md").read_text()
    assert (root / "optuna.db").exists()


def test_long_parts_print_the_time_run_and_an_estimate_of_what_is_left(finished_run):
    root, _, test = finished_run
    said = (root / "run.log").read_text()
    times = r"\(study running [0-9.]+ min, about [0-9.]+ min left in this part\)"
    assert re.search(rf"^\[2/9\] featurize the {len(test)} test battles {times}$", said, re.MULTILINE)
    for name in DEFAULT_MODELS:
        assert re.search(
            rf"^\[4/9\] {name}: 4 trials in \d+ s; out-of-fold fits and refit {times}$", said, re.MULTILINE
        )
    assert re.search(rf"^\[7/9\] predict {len(test)} test battles with the saved pipeline {times}$", said, re.MULTILINE)


def test_fit_estimate_scales_the_trials_time_per_fold_to_every_row():
    from prefeat.study.curves import fits_seconds

    assert fits_seconds(2.0, 0.5, 5, tunings=1) == pytest.approx(4.0 * (5 + 1.25))  # 5 folds and a refit
    # the halves: 5 folds per half's parameters, a refit and the learning curve's folds
    assert fits_seconds(2.0, 0.5, 5, tunings=2) == pytest.approx(4.0 * (10 + 1.25 + 5 * 0.75))
    assert fits_seconds(None, 1.0, 5, tunings=2) is None


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
    for name in (*DEFAULT_MODELS, "average", "stack"):
        recomputed = log_loss(labels, read_predictions(run / "oof" / f"{name}.parquet", ids))
        assert reported_log_loss(report, name) == pytest.approx(recomputed, abs=5e-5)


def test_report_records_config_versions_and_data_hash_without_machine_paths(finished_run):
    from importlib.metadata import version

    import prefeat

    root, _, _ = finished_run
    report = (root / "run" / "report.md").read_text()
    record_text = report.split("```json\n", 1)[1].split("\n```", 1)[0]
    record = json.loads(record_text)
    assert record["config"]["seed"] == 0
    assert record["config"]["train"] == "train.csv"
    assert record["config"]["features"]["families"] == ["length", "formatting", "refusal", "content"]
    assert len(record["data_digests"]["train"]) == 32
    assert record["versions"]["prefeat"] == prefeat.__version__
    assert record["versions"]["numpy"] == np.__version__
    assert record["versions"]["xgboost-cpu"] == version("xgboost-cpu")
    assert str(root) not in record_text and "/tmp" not in record_text and str(Path.home()) not in record_text
    assert "Comparison of the models" in report


def test_the_saved_pipeline_loaded_back_predicts_what_the_runs_models_did_in_memory(finished_run):
    """The submission comes from the pipeline loaded back from its folder (features computed again by its
    featurizer, models and stacker read from their files); the run also wrote the stack of its models still in
    memory, on the test features of step 2, before saving. They must agree."""
    from prefeat.pipeline import submission_frame

    root, _, test = finished_run
    in_memory = pd.read_parquet(root / "run" / "test" / "stack_in_memory.parquet")
    submission = pd.read_csv(root / "run" / "submission.csv", dtype={"id": str})
    assert in_memory["id"].tolist() == submission["id"].tolist() == test["id"].astype(str).tolist()
    expected = submission_frame(in_memory["id"], in_memory[["p_a", "p_b", "p_tie"]].to_numpy())
    columns = ["winner_model_a", "winner_model_b", "winner_tie"]
    np.testing.assert_allclose(submission[columns].to_numpy(), expected[columns].to_numpy(), rtol=0, atol=1e-9)
    assert np.abs(np.diff(submission[columns].to_numpy(), axis=0)).max() > 1e-3  # not one row repeated


def timed_parts(run: Path) -> set[str]:
    return {part["part"] for part in json.loads((run / "timings.json").read_text())}


def test_a_rerun_reads_its_fits_from_the_cache_and_writes_the_same_submission(tmp_path):
    write_inputs(tmp_path)
    first = run_study_in(tmp_path, "--models", "linear,lexical")
    again = run_study_in(tmp_path, "--models", "linear,lexical", out="again")
    parts = {part["part"] for part in json.loads((again / "timings.json").read_text())}
    assert not any(part.startswith(("out-of-fold fits", "refit")) for part in parts)
    assert {"out-of-fold fits linear", "refit lexical"} <= {
        p["part"] for p in json.loads((first / "timings.json").read_text())
    }
    assert (again / "submission.csv").read_bytes() == (first / "submission.csv").read_bytes()
    for name in ("linear", "lexical"):
        assert (again / "oof" / f"{name}.parquet").read_bytes() == (first / "oof" / f"{name}.parquet").read_bytes()
    changed = run_study_in(tmp_path, "--models", "linear,lexical", "--seed", "1", out="seed1")
    assert "out-of-fold fits linear" in timed_parts(changed)


def test_one_model_runs_end_to_end_and_the_report_speaks_of_it_alone(tmp_path):
    write_inputs(tmp_path)
    run = run_study_in(tmp_path, "--models", "linear")
    report = (run / "report.md").read_text()
    prose = report.split("## Comparison of the models", 1)[1]
    assert "Only linear ran" in prose and "XGBoost" not in prose
    assert json.loads((run / "pipeline" / "stacker.json").read_text())["models"] == ["linear"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no ties", "need wins and ties"),
        ("few rows", "too few for 5 folds"),
    ],
)
def test_training_data_that_cannot_make_folds_is_refused_with_its_file(tmp_path, capsys, change, message):
    train = make_battles(120, seed=1)
    if change == "no ties":
        train = train[train["winner_tie"] == 0]
    else:
        label = train[["winner_model_a", "winner_model_b", "winner_tie"]].to_numpy().argmax(axis=1)
        train = train.groupby(label).head(2)  # every outcome, but two battles of each
    train.to_csv(tmp_path / "train.csv", index=False)
    argv = ["--train", str(tmp_path / "train.csv"), "--out", str(tmp_path / "run"), "--preset", "cheap"]
    assert run_all.main(argv) == 2
    error = capsys.readouterr().err
    assert "train.csv" in error and message in error


def test_out_of_fold_folds_group_by_prompt(finished_run):
    root, _, _ = finished_run
    folds = pd.read_parquet(root / "run" / "folds.parquet")
    assert (folds.groupby("group")["fold"].nunique() == 1).all()


def test_without_data_or_network_the_main_job_runs_on_the_shipped_sample(monkeypatch, tmp_path, capsys):
    from prefeat import load_battles

    monkeypatch.chdir(tmp_path)  # no data/train.csv here
    monkeypatch.setattr(run_all, "ensure_train", _offline)
    train, test = run_all.resolve_data(run_all.parse_args([]))
    assert (train, test) == (run_all.SAMPLE_TRAIN, run_all.SAMPLE_TEST)
    said = capsys.readouterr().out.strip().splitlines()
    assert said[-1].startswith("running on the sample of 900 public battles")
    assert "kaggle competitions download" in said[-1]
    sample, held_out = load_battles(train), load_battles(test)
    assert len(sample) == 900 and sample["label"].notna().all()
    assert len(held_out) == 100 and held_out["label"].isna().all()
    assert not set(sample["id"]) & set(held_out["id"])
    assert (REPO / "data" / "README.md").read_text().count("Apache License 2.0") == 1


def test_missing_training_data_without_network_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run_all, "ensure_train", _offline)
    assert run_all.main(["--train", str(tmp_path / "train.csv")]) == 2
    error = capsys.readouterr().err
    assert "kaggle competitions download" in error
    assert len(error.strip().splitlines()) == 1


def _offline(path):
    from prefeat.data.fetch import fetch_train

    return fetch_train(path, url=Path(path).with_name("absent.csv").resolve().as_uri())


def test_models_option_picks_a_subset_and_names_unknown_ones(capsys):
    assert run_all.parse_args(["--models", "catboost, linear"]).models == ("catboost", "linear")
    assert run_all.parse_args([]).models == DEFAULT_MODELS
    with pytest.raises(SystemExit):
        run_all.parse_args(["--models", "xgboost,lightgbm"])
    assert "lightgbm" in capsys.readouterr().err


def test_large_data_tunes_on_a_subsample_that_the_scores_leave_out(tmp_path):
    write_inputs(tmp_path)
    run = run_study_in(tmp_path, "--models", "linear", "--tune-rows", "40")
    results = json.loads((run / "results.json").read_text())
    assert list(results["learning_curves"]["linear"]) == ["1.0"]  # above twice tune_rows: no curve
    timings = json.loads((run / "timings.json").read_text())
    parts = [part["part"] for part in timings]
    assert "tune linear" in parts and "out-of-fold fits linear" in parts and "learning curve linear" not in parts
    assert {"featurize train: length", "featurize test: refusal", "folds", "predict test", "report"} <= set(parts)
    assert all(part["seconds"] >= 0 and part["end"] >= part["start"] for part in timings)
    scored = pd.read_parquet(run / "oof" / "linear.parquet")["id"]
    assert 70 <= len(scored) <= 80  # about 40 of the 120 battles tuned, and only the others are scored
    folds = pd.read_parquet(run / "folds.parquet")
    groups = folds.set_index(folds["id"].astype(str))["group"]
    tuned_groups = set(groups.drop(scored).unique())
    assert tuned_groups and tuned_groups.isdisjoint(groups.loc[scored])  # whole prompts tune, others score
    report = (run / "report.md").read_text()
    assert f"out of fold on the {len(scored)} battles whose labels chose nothing" in report
    linear = next(row for row in results["results"] if row["model"] == "linear")
    assert 0 < linear["tune_fold_s"] < linear["tune_s"]  # what one fold fit cost in the trials


def test_small_data_tunes_each_half_for_the_other_and_scores_every_battle(finished_run):
    root, train, _ = finished_run
    run = root / "run"
    for name in DEFAULT_MODELS:
        assert len(pd.read_parquet(run / "oof" / f"{name}.parquet")) == len(train)
        halves = [json.loads((run / "tuning" / f"{name}_half{part}_best.json").read_text()) for part in (0, 1)]
        assert halves[0]["study_name"] != halves[1]["study_name"]
    assert "tuned on one half of the prompts and score only the other half" in (run / "report.md").read_text()


def test_the_identity_model_runs_where_the_battles_name_models_and_is_skipped_where_not(tmp_path):
    train, _ = write_inputs(tmp_path)
    run = run_study_in(tmp_path, "--models", "linear,identity", "--trials", "1")
    assert len(pd.read_parquet(run / "oof" / "identity.parquet")) == len(train)
    importance = pd.read_csv(run / "shap" / "shap_identity_features.csv", index_col=0)
    assert importance.index.str.startswith("identity__").all() and len(importance) > 0
    assert json.loads((run / "pipeline" / "stacker.json").read_text())["models"] == ["linear", "identity"]
    assert "identity model skipped" not in (tmp_path / "run.log").read_text()

    train.drop(columns=["model_a", "model_b"]).to_csv(tmp_path / "train.csv", index=False)
    unnamed = run_study_in(tmp_path, "--models", "linear,identity", "--trials", "1", out="unnamed")
    said = (tmp_path / "unnamed.log").read_text()
    assert "identity model skipped: the training battles name 0 model(s), it needs two or more" in said
    assert json.loads((unnamed / "pipeline" / "stacker.json").read_text())["models"] == ["linear"]
    assert len(pd.read_csv(unnamed / "submission.csv")) == 12
