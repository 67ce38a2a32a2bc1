import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from sqlalchemy.exc import SQLAlchemyError

from prefeat.data.text import answer_texts
from prefeat.models import MODELS
from prefeat.study import storage
from prefeat.study.folds import assign_folds
from prefeat.study.plan import CVPlan
from prefeat.study.storage import DEFAULTS, SECONDS, create_or_open_study, default_storage, open_study, spent_seconds
from prefeat.study.tuning import FINISHED, STOPPED, budget_share, describe_search_space, study_name_for, tune

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def tuning_inputs(dataset):
    battles, features, y = dataset
    folds = assign_folds(battles, seed=0)
    return CVPlan(features, y, folds["fold"].to_numpy(), folds["group"].to_numpy())


def storage_in(folder: Path) -> str:
    return f"sqlite:///{folder / 'optuna.db'}"


def quick(name, plan, folder, **kwargs):
    folder.mkdir(parents=True, exist_ok=True)
    options = {"n_trials": 2, "time_budget": None, "storage": storage_in(folder), "show_progress": False} | kwargs
    return tune(name, plan, folder, **options)


def test_study_is_stored_resumed_and_saved(tmp_path, tuning_inputs):
    first = quick("linear", tuning_inputs, tmp_path)
    saved = json.loads((tmp_path / "tuning" / "linear_best.json").read_text())
    assert saved["params"] == first.params
    assert saved["n_trials"] == 2
    quick("linear", tuning_inputs, tmp_path, n_trials=3)
    study = open_study(first.study_name, storage_in(tmp_path))
    assert [trial.state in FINISHED for trial in study.trials] == [True, True, True]
    assert study.trials[0].params == {"C": 0.01}  # the first trial is the hand-set default
    assert first.default_loss == study.trials[0].value


def test_a_study_whose_creator_died_before_enqueuing_the_defaults_gets_them_once(tmp_path, tuning_inputs, monkeypatch):
    """A worker that loads a study holding no default trial waits for its creator, then enqueues it itself;
    one that finds it enqueues nothing more."""
    monkeypatch.setattr(storage, "DEFAULTS_WAIT_SECONDS", 0.5)
    name = study_name_for("linear", tuning_inputs)
    create_or_open_study(name, storage_in(tmp_path))  # created, then the creator "died": no trial enqueued
    quick("linear", tuning_inputs, tmp_path, n_trials=1)
    quick("linear", tuning_inputs, tmp_path, n_trials=3)
    trials = open_study(name, storage_in(tmp_path)).trials
    defaults = [trial for trial in trials if trial.user_attrs.get(DEFAULTS)]
    assert len(trials) == 3 and [trial.number for trial in defaults] == [0]
    assert defaults[0].params == MODELS["linear"].default_params() and defaults[0].state == TrialState.COMPLETE


def test_study_name_follows_the_data(tuning_inputs):
    plan = tuning_inputs
    name = study_name_for("hgb", plan)
    assert name == study_name_for("hgb", dataclasses.replace(plan, X=plan.X.copy(), y=plan.y.copy()))
    changed = plan.X.copy()
    changed.iloc[0, 0] += 1.0
    assert study_name_for("hgb", dataclasses.replace(plan, X=changed)) != name
    assert study_name_for("hgb", dataclasses.replace(plan, seed=1)) != name
    assert study_name_for("hgb", dataclasses.replace(plan, symmetric=False)) != name
    assert study_name_for("xgboost", plan) != name


def test_default_storage_sits_beside_the_run_folder(tmp_path):
    assert default_storage(tmp_path / "runs" / "20260101-000000") == f"sqlite:///{tmp_path / 'runs' / 'optuna.db'}"


def test_time_budget_counts_seconds_already_spent(tmp_path, tuning_inputs):
    first = quick("linear", tuning_inputs, tmp_path, n_trials=1)
    study = open_study(first.study_name, storage_in(tmp_path))
    distribution = optuna.distributions.FloatDistribution(1e-4, 10.0, log=True)
    study.add_trial(
        optuna.trial.create_trial(
            params={"C": 0.1},
            distributions={"C": distribution},
            value=2.0,
            user_attrs={SECONDS: 1e6},
        )
    )
    assert spent_seconds(study) > 1e6
    quick("linear", tuning_inputs, tmp_path, n_trials=5, time_budget=60.0)
    assert len(open_study(first.study_name, storage_in(tmp_path)).trials) == 2


def test_a_trial_past_the_time_budget_stops_after_its_fold(tmp_path, tuning_inputs):
    result = quick("catboost", tuning_inputs, tmp_path, n_trials=5, time_budget=0.01)
    study = open_study(result.study_name, storage_in(tmp_path))
    assert len(study.trials) == 1
    stopped = study.trials[0]
    assert stopped.state == TrialState.PRUNED
    assert stopped.user_attrs[STOPPED] == "time budget"
    assert len(stopped.intermediate_values) == 1  # one fold fit, then it stopped
    assert result.seconds_per_fold == pytest.approx(stopped.user_attrs["seconds"])  # its one fold
    assert result.best_loss is None
    assert result.params["iterations"] == 1000  # nothing completed: the default parameters


def test_same_seed_same_best_trial(tmp_path, tuning_inputs):
    runs = [quick("xgboost", tuning_inputs, tmp_path / str(i), n_trials=3).params for i in range(2)]
    assert runs[0] == runs[1]


def test_any_sqlalchemy_url_is_accepted(tmp_path, tuning_inputs):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    result = quick("linear", tuning_inputs, tmp_path, n_trials=1, storage=url)
    assert (tmp_path / "elsewhere.db").exists()
    assert len(open_study(result.study_name, url).trials) == 1


def test_budget_share_passes_unused_time_on_to_the_models_left():
    assert budget_share(600.0, 0.0, 4) == 150.0
    assert budget_share(600.0, 30.0, 3) == 190.0
    assert budget_share(600.0, 700.0, 1) == 0.0


def start_worker(folder: Path, n_trials: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(TESTS / "tuning_worker.py"), str(folder), storage_in(folder), str(n_trials)],
        cwd=TESTS,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_a_running_trial_after(folder: Path, complete: int, timeout: float = 120.0) -> None:
    """Until the study has ``complete`` finished trials and one running that has fitted a fold."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if not (folder / "optuna.db").exists():
            continue
        try:
            summaries = optuna.get_all_study_summaries(storage_in(folder))
            if not summaries:
                continue
            trials = optuna.load_study(study_name=summaries[0].study_name, storage=storage_in(folder)).trials
        except SQLAlchemyError:  # the worker is still creating the storage's tables: both would create them
            continue
        finished = [trial for trial in trials if trial.state == TrialState.COMPLETE]
        running = [trial for trial in trials if trial.state == TrialState.RUNNING and trial.user_attrs.get(SECONDS)]
        if len(finished) >= complete and running:
            return
    raise AssertionError("the worker never reached a running trial")


@pytest.mark.parametrize("interrupt", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_an_interrupted_study_resumes_without_losing_repeating_or_leaving_trials(tmp_path, interrupt, monkeypatch):
    sys.path.insert(0, str(TESTS))
    import tuning_worker

    worker = start_worker(tmp_path, n_trials=4)
    wait_for_a_running_trial_after(tmp_path, complete=2)
    os.kill(worker.pid, interrupt)
    worker.wait(timeout=60)
    study_name = optuna.get_all_study_summaries(storage_in(tmp_path))[0].study_name
    before = optuna.load_study(study_name=study_name, storage=storage_in(tmp_path))
    finished_before = {t.number: t.params for t in before.trials if t.state == TrialState.COMPLETE}
    interrupted = [t for t in before.trials if t.state in (TrialState.RUNNING, TrialState.FAIL)]
    assert len(interrupted) == 1
    seconds_before = spent_seconds(before)
    assert seconds_before >= 2 * 5 * tuning_worker.FOLD_SECONDS  # two whole trials and a fold of the third

    # registered for this test only: a model left in MODELS would reach every later test of this process
    monkeypatch.setitem(MODELS, tuning_worker.SlowLinearModel.name, tuning_worker.SlowLinearModel)
    quick("slow-linear", tuning_worker.inputs(), tmp_path, n_trials=4)
    after = open_study(study_name, storage_in(tmp_path))
    states = [trial.state for trial in after.trials]
    assert TrialState.RUNNING not in states
    assert sum(state in FINISHED for state in states) == 4
    kept = {t.number: t.params for t in after.trials if t.number in finished_before}
    assert kept == finished_before  # no finished trial lost or changed
    retried = [t for t in after.trials if t.system_attrs.get("failed_trial") == interrupted[0].number]
    assert len(retried) == 1 and retried[0].params == interrupted[0].params
    assert retried[0].state == TrialState.COMPLETE
    assert spent_seconds(after) > seconds_before  # the seconds before the interruption still count


COUNT_KEYS = {"xgboost": "n_estimators", "catboost": "iterations", "hgb": "max_iter"}  # fixed, never tuned


@pytest.mark.parametrize("name", list(MODELS))
def test_trial_0_read_back_from_the_storage_is_exactly_the_models_defaults(tmp_path, dataset, name):
    battles, features, y = dataset
    folds = assign_folds(battles, seed=0)
    inputs = answer_texts(battles) if MODELS[name].reads == "texts" else features
    plan = CVPlan(inputs, y, folds["fold"].to_numpy(), folds["group"].to_numpy())
    defaults = MODELS[name].default_params()
    drawn = [entry[1] for entry in describe_search_space(name)]
    assert set(drawn) == set(defaults) - {COUNT_KEYS.get(name)}  # the defaults name every key the space draws
    assert set(MODELS[name].search_space(optuna.trial.FixedTrial(defaults))) == set(drawn)
    result = quick(name, plan, tmp_path, n_trials=1)
    trial = open_study(result.study_name, storage_in(tmp_path)).trials[0]
    assert trial.number == 0 and trial.state == TrialState.COMPLETE
    assert trial.params == {key: defaults[key] for key in drawn}
    # the defaults lie inside the space, so Optuna used them as they are, and the study can sample around them
    for key, distribution in trial.distributions.items():
        assert distribution.low <= defaults[key] <= distribution.high, key
    assert result.default_loss == trial.value


def test_a_changed_search_space_or_package_source_starts_a_new_study(tuning_inputs, monkeypatch, tmp_path):
    from prefeat import fingerprint

    name = study_name_for("linear", tuning_inputs)
    monkeypatch.setattr(
        MODELS["linear"],
        "search_space",
        staticmethod(lambda trial: {"C": trial.suggest_float("C", 1e-4, 100.0, log=True)}),
    )
    widened = study_name_for("linear", tuning_inputs)
    assert widened != name
    monkeypatch.undo()
    assert study_name_for("linear", tuning_inputs) == name
    copy = shutil.copytree(fingerprint.PACKAGE_ROOT, tmp_path / "prefeat", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(fingerprint, "PACKAGE_ROOT", copy)
    assert study_name_for("linear", tuning_inputs) == name  # the same source elsewhere: the same study
    (copy / "study" / "oof.py").write_text((copy / "study" / "oof.py").read_text() + "\n# an edit\n")
    monkeypatch.setattr(fingerprint, "PACKAGE_ROOT", shutil.copytree(copy, tmp_path / "edited" / "prefeat"))
    assert study_name_for("linear", tuning_inputs) != name


def test_workers_on_the_same_study_draw_different_parameters(tmp_path, tuning_inputs):
    """Worker k's sampler is seeded apart from worker 0's: started on the same stored trials, they draw apart."""
    first = quick("linear", tuning_inputs, tmp_path / "start", n_trials=1)  # trial 0: the defaults
    drawn = {}
    for label, worker in (("worker 1", 1), ("worker 2", 2), ("worker 1 again", 1)):
        folder = tmp_path / label
        folder.mkdir()
        shutil.copy(tmp_path / "start" / "optuna.db", folder / "optuna.db")
        quick("linear", tuning_inputs, folder, n_trials=2, worker=worker)
        trials = open_study(first.study_name, storage_in(folder)).trials
        assert [trial.number for trial in trials] == [0, 1]
        drawn[label] = trials[1].params
    assert drawn["worker 1"] == drawn["worker 1 again"]  # the draw follows the seed, not chance
    assert drawn["worker 1"] != drawn["worker 2"]
