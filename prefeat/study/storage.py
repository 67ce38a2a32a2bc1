"""Where Optuna keeps the studies: SQLite beside the run folders, or any SQLAlchemy URL (PostgreSQL lets
several processes share a study); opening a study safely when workers race, and recovering trials that a
dead worker left ``RUNNING`` (failed, then retried once with the same parameters)."""

from __future__ import annotations

import os
import socket
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

STORAGE_FILE = "optuna.db"
SECONDS = "seconds"  # trial user attribute: wall seconds used so far, updated after each fold
WORKER = "worker"  # trial user attribute: "host:pid" of the process running it
DEFAULTS = "defaults"  # trial user attribute: True on the enqueued trial of the hand-set defaults
HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 60
DEFAULTS_WAIT_SECONDS = 10.0  # how long a worker that loaded a study waits for its creator's default trial
MAX_RETRY = 1


def default_storage(run_dir) -> str:
    """The SQLite file beside the run folder, shared by reruns."""
    path = Path(run_dir).resolve().parent / STORAGE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def make_storage(url: str) -> RDBStorage:
    """An RDB storage with a heartbeat, so a trial of a dead worker is failed and retried.

    On a server, each storage call opens its own connection and closes it (``NullPool``): a pool per
    storage would keep connections open for as long as the study object lives, and a run opens one
    study per model and half (and many workers share a server), which filled PostgreSQL's
    ``max_connections`` ("too many clients already").
    """
    from sqlalchemy.pool import NullPool

    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"poolclass": NullPool}
    with without_experimental_warnings():
        return RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=HEARTBEAT_SECONDS,
            grace_period=GRACE_SECONDS,
            heartbeat_stale_trial_callback=retry_callback(),
        )


def retry_callback() -> RetryHeartbeatStaleTrialCallback:
    with without_experimental_warnings():
        return RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)


@contextmanager
def without_experimental_warnings():
    """Optuna still tags its heartbeat and retry API experimental, though stable since 2021."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def create_or_open_study(study_name: str, storage: str, seed: int = 0, attempts: int = 5) -> tuple[optuna.Study, bool]:
    """Create or reopen a study, and say whether this call created it.

    Of several workers that start together, exactly one creates the study (the storage's unique study
    name decides), so one alone can seed it with the default trial. They also race to create the
    storage's tables; the loser of that race retries, and then finds what the winner made.
    """
    from sqlalchemy.exc import SQLAlchemyError

    def create_or_load() -> tuple[optuna.Study, bool]:
        options = {  # the storage too: making it creates the tables, which is where workers race
            "study_name": study_name,
            "storage": make_storage(storage),
            "sampler": optuna.samplers.TPESampler(seed=seed),
            "pruner": optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        }
        try:
            return optuna.create_study(direction="minimize", **options), True
        except optuna.exceptions.DuplicatedStudyError:
            return optuna.load_study(**options), False

    for attempt in range(attempts - 1):
        try:
            return create_or_load()
        except SQLAlchemyError:
            time.sleep(0.5 * (attempt + 1))
    return create_or_load()


def seed_default_trial(study: optuna.Study, params: dict, created: bool, worker: int = 0) -> None:
    """Make sure the study holds a trial of the hand-set defaults ``params``, tagged :data:`DEFAULTS`.

    The worker that created the study enqueues it at once. A worker that loaded the study waits for it
    (``DEFAULTS_WAIT_SECONDS`` times one more than its ``worker`` number, so that loaders give up one at a
    time), then enqueues it itself: its creator died between creating the study and enqueuing the trial.
    Two loaders of one worker number, or a creator stalled for longer than the wait, can still enqueue it
    twice; that costs a trial, and the study's summary reads the first.
    """
    if not created and wait_for_default_trial(study, DEFAULTS_WAIT_SECONDS * (1 + worker)):
        return
    study.enqueue_trial(params, user_attrs={DEFAULTS: True})


def wait_for_default_trial(study: optuna.Study, seconds: float) -> bool:
    """Whether a trial tagged :data:`DEFAULTS` is in the study, or appears within ``seconds``."""
    waited_until = time.monotonic() + seconds
    while not any(trial.user_attrs.get(DEFAULTS) for trial in study.get_trials(deepcopy=False)):
        if time.monotonic() > waited_until:
            return False
        time.sleep(0.2)
    return True


def open_study(study_name: str, storage: str) -> optuna.Study:
    """An existing study (``study.trials_dataframe()`` lists its trials); it never creates one, which would
    leave the workers to find a study without its default trial."""
    return optuna.load_study(study_name=study_name, storage=make_storage(storage))


def spent_seconds(study: optuna.Study) -> float:
    """Wall seconds all trials of the study have used, finished or not (a queued retry has used none)."""
    trials = study.get_trials(deepcopy=False)
    return float(sum(t.user_attrs.get(SECONDS, 0.0) for t in trials if t.state != TrialState.WAITING))


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_is_gone(worker: str) -> bool:
    """True for a process of this machine that no longer runs (other machines: the heartbeat decides)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def recover_interrupted(study: optuna.Study) -> list[int]:
    """Fail the trials left ``RUNNING`` by a dead local process and retry every failed trial once.

    Returns the numbers of the trials queued again.
    """
    storage = study._storage
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if worker_is_gone(trial.user_attrs.get(WORKER, "")):
            storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    trials = study.get_trials(deepcopy=False)
    retried = {trial.system_attrs.get("failed_trial") for trial in trials}
    queued = []
    retry = retry_callback()
    for trial in trials:
        if trial.state == TrialState.FAIL and trial.number not in retried:
            retry(study, trial)
            queued.append(trial.number)
    return queued
