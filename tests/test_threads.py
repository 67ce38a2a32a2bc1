"""One thread setting (prefeat.threads): the cores it finds, how far it reaches, and that it changes no number."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, make_battles
from threadpoolctl import threadpool_info

from prefeat import ArenaFeaturizer, load_battles
from prefeat.models import DEFAULT_MODELS, MODELS, load_model, make_model
from prefeat.threads import available_cores, cgroup_cpu_limit, limited_threads, resolve_n_jobs


def fake_cgroup(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_cgroup_quota_caps_the_cores(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})  # not 1, as a pinned test worker has
    affinity = 4
    assert cgroup_cpu_limit(fake_cgroup(tmp_path / "v2", {"cpu.max": "150000 100000\n"})) == 1.5
    assert available_cores(tmp_path / "v2") == min(affinity, 2)  # 1.5 cores of quota: 2 threads
    assert cgroup_cpu_limit(fake_cgroup(tmp_path / "open", {"cpu.max": "max 100000\n"})) is None
    assert available_cores(tmp_path / "open") == affinity
    v1 = {"cpu,cpuacct/cpu.cfs_quota_us": "50000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}
    assert available_cores(fake_cgroup(tmp_path / "v1", v1)) == 1
    unlimited = {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}
    assert available_cores(fake_cgroup(tmp_path / "v1-open", unlimited)) == affinity
    assert available_cores(tmp_path / "none") == affinity


def test_n_jobs_resolves_to_a_count_and_the_innermost_limit():
    cores = available_cores()
    assert resolve_n_jobs(-1) == resolve_n_jobs(None) == cores
    assert resolve_n_jobs(3) == 3
    assert resolve_n_jobs(-cores - 5) == 1
    with pytest.raises(ValueError, match="n_jobs=0"):
        resolve_n_jobs(0)
    with limited_threads(1) as count:
        assert count == 1 and resolve_n_jobs(None) == 1 and resolve_n_jobs(2) == 2
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
        with limited_threads(2):
            assert resolve_n_jobs(None) == 2
        assert resolve_n_jobs(None) == 1
    assert resolve_n_jobs(None) == cores


def small_table(n_rows=160, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n_rows, 6)), columns=[f"x{i}" for i in range(6)])
    y = np.where(X["x0"] + rng.normal(size=n_rows) > 0.5, 0, np.where(X["x1"] > 0.3, 1, 2))
    return X, y


@pytest.mark.parametrize("name", [name for name in MODELS if MODELS[name].reads == "features"])
def test_a_model_predicts_the_same_on_1_and_2_threads_and_saves_no_count(name, tmp_path):
    X, y = small_table()
    params = {"xgboost": {"n_estimators": 40}, "catboost": {"iterations": 40}, "hgb": {"max_iter": 40}}.get(name)
    fitted = {n: make_model(name, params, symmetric=False, n_jobs=n).fit(X[:120], y[:120]) for n in (1, 2)}
    np.testing.assert_array_equal(fitted[1].predict_proba(X[120:]), fitted[2].predict_proba(X[120:]))
    fitted[1].save(tmp_path)
    loaded = load_model(tmp_path, name)
    assert loaded.n_jobs is None  # this machine's count, not the training machine's
    np.testing.assert_array_equal(loaded.predict_proba(X[120:]), fitted[1].predict_proba(X[120:]))


def test_the_featurizer_fans_out_only_past_one_core(monkeypatch):
    import joblib

    started = []

    class Recorder(joblib.Parallel):
        def __init__(self, n_jobs=None, **kwargs):
            started.append(n_jobs)
            super().__init__(n_jobs=n_jobs, **kwargs)

    monkeypatch.setattr(joblib, "Parallel", Recorder)
    battles = make_battles(400)
    for column in ("prompt", "response_a", "response_b"):
        battles[column] = battles[column] + battles["id"].astype(str)  # distinct sides: enough chunks to fan out
    featurizer = ArenaFeaturizer(families=["length"], cache_dir=False, batch_size=1, show_progress=False)
    with limited_threads(1):
        one = featurizer.fit_transform(battles)
    assert started == []
    with limited_threads(2):
        two = featurizer.fit_transform(battles)
    assert started == [2]
    np.testing.assert_array_equal(one, two)


STUDY = """
import json, os, sys
import _posixsubprocess
sys.path.insert(0, {experiments!r})
import run_all

spawned = []
os.register_at_fork(before=lambda: spawned.append("fork"))
fork_exec, posix_spawn = _posixsubprocess.fork_exec, os.posix_spawn
def counted(real):
    def call(*args, **kwargs):
        spawned.append(real.__name__)
        return real(*args, **kwargs)
    return call
_posixsubprocess.fork_exec, os.posix_spawn = counted(fork_exec), counted(posix_spawn)

def busy_threads():  # threads besides the main one that computed for over 0.2 s: OpenMP, BLAS, CatBoost, torch
    busy = []
    for tid in os.listdir("/proc/self/task"):
        fields = open(f"/proc/self/task/{{tid}}/stat").read().rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        if int(tid) != os.getpid() and seconds > 0.2:
            busy.append(round(seconds, 2))
    return busy

code = run_all.main(sys.argv[1:])
print(json.dumps({{"code": code, "busy_threads": busy_threads(), "spawned": spawned}}))
"""


def run_study_with(root: Path, n_jobs: int) -> subprocess.Popen:
    out = root / f"run-{n_jobs}"
    argv = ["--train", str(root / "train.csv"), "--test", str(root / "test.csv"), "--out", str(out)]
    argv += ["--preset", "cheap", "--trials", "1", "--time-budget", "1e9", "--n-jobs", str(n_jobs)]
    argv += ["--storage", f"sqlite:///{root / f'optuna-{n_jobs}.db'}"]
    script = STUDY.format(experiments=str(REPO / "experiments"))
    env = {**os.environ, "PREFEAT_CACHE": str(root / f"cache-{n_jobs}"), "PYTHONPATH": str(REPO)}
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-c", script, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="counts threads in /proc")
def test_a_study_on_one_core_starts_no_thread_or_process_and_predicts_what_two_cores_do(tmp_path):
    """Two fresh interpreters run the same small study, with --n-jobs 1 and 2, one after the other (side by
    side they would load the cores with 3 threads and time nothing well; on a machine that other work
    loads, the 2-thread run's OpenMP fits slow down many times over).

    On one core no thread but the main one computes (OpenMP, BLAS, CatBoost and torch keep their
    pool threads once started, with the CPU time they used; the libraries' idle service threads,
    such as CatBoost's one, do not count) and no process is forked or spawned; the 2-core run is the
    control that shows the count can fail. Both runs give the same submission and out-of-fold
    predictions, bit for bit (and so does the same seed from an empty cache and storage)."""
    train = make_battles(120, seed=1)
    train.to_csv(tmp_path / "train.csv", index=False)
    test = train[["id", "prompt", "response_a", "response_b"]].sample(12, random_state=0).copy()
    test["id"] = test["id"] + 50_000
    test.to_csv(tmp_path / "test.csv", index=False)
    said = {}
    for n in (1, 2):
        process = run_study_with(tmp_path, n)
        stdout, stderr = process.communicate(timeout=1800)
        assert process.returncode == 0, stderr[-3000:]
        said[n] = json.loads(stdout.strip().splitlines()[-1])
        assert said[n]["code"] == 0
        if n == 1:
            assert said[1]["spawned"] == [] and said[1]["busy_threads"] == [], said[1]
    assert said[2]["busy_threads"], said[2]  # the control: on 2 cores other threads compute too
    # two fresh interpreters, each from an empty cache and storage: the same seed writes the same bytes
    submissions = [tmp_path / f"run-{n}" / "submission.csv" for n in (1, 2)]
    assert submissions[0].read_bytes() == submissions[1].read_bytes()
    for name in (*DEFAULT_MODELS, "stack"):
        oof = [pd.read_parquet(tmp_path / f"run-{n}" / "oof" / f"{name}.parquet") for n in (1, 2)]
        pd.testing.assert_frame_equal(*oof, check_exact=True)
    report = (tmp_path / "run-1" / "report.md").read_text()
    assert '"n_jobs": 1,' in report and '"cores_available":' in report  # the count is in the run record
    assert len(load_battles(tmp_path / "test.csv")) == len(pd.read_csv(submissions[0]))
