import json

import pytest

from prefeat.folds import assign_folds
from prefeat.tuning import FINISHED, budget_share, open_study, tune


@pytest.fixture
def tuning_inputs(dataset):
    battles, features, y = dataset
    folds = assign_folds(battles, seed=0)
    return features, y, folds["fold"].to_numpy(), folds["group"].to_numpy()


def test_study_is_stored_resumed_and_saved(tmp_path, tuning_inputs):
    best = tune("hgb", *tuning_inputs, run_dir=tmp_path, n_trials=2, time_budget=None, show_progress=False)
    saved = json.loads((tmp_path / "tuning" / "hgb_best.json").read_text())
    assert saved["params"] == best
    assert (tmp_path / "tuning" / "optuna.db").exists()
    tune("hgb", *tuning_inputs, run_dir=tmp_path, n_trials=3, time_budget=None, show_progress=False)
    study = open_study("hgb", tmp_path)
    assert sum(trial.state in FINISHED for trial in study.trials) == 3
    assert len(study.trials_dataframe()) == 3
    # the first trial is the hand-set default
    assert study.trials[0].params["learning_rate"] == 0.05


def test_time_budget_counts_time_already_spent(tmp_path, tuning_inputs):
    tune("hgb", *tuning_inputs, run_dir=tmp_path, n_trials=1, time_budget=None, show_progress=False)
    study = open_study("hgb", tmp_path)
    study.set_user_attr("tuning_seconds", 1e6)
    tune("hgb", *tuning_inputs, run_dir=tmp_path, n_trials=5, time_budget=60.0, show_progress=False)
    assert len(open_study("hgb", tmp_path).trials) == 1


def test_same_seed_same_best_trial(tmp_path, tuning_inputs):
    runs = [
        tune("hgb", *tuning_inputs, run_dir=tmp_path / str(i), n_trials=3, time_budget=None, show_progress=False)
        for i in range(2)
    ]
    assert runs[0] == runs[1]


def test_any_sqlalchemy_url_is_accepted(tmp_path, tuning_inputs):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    tune("hgb", *tuning_inputs, run_dir=tmp_path, n_trials=1, time_budget=None, storage=url, show_progress=False)
    assert (tmp_path / "elsewhere.db").exists()
    assert len(open_study("hgb", storage=url).trials) == 1


def test_budget_share_passes_unused_time_on_to_the_models_left():
    assert budget_share(600.0, 0.0, 4) == 150.0
    assert budget_share(600.0, 30.0, 3) == 190.0
    assert budget_share(600.0, 700.0, 1) == 0.0
