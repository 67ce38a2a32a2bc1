"""A tuning process for the interruption and worker tests: tunes a deliberately slow model on the fixture data.

Usage: python tuning_worker.py RUN_DIR STORAGE N_TRIALS [WORKER]. Each fold fit of the
``slow-linear`` model sleeps, so a test can interrupt a trial part-way through. The heartbeat is
shortened so that a test sees a dead worker's trial failed within seconds.
"""

import sys
import time

from conftest import featurized_fixture

from prefeat.models import MODELS, LinearModel
from prefeat.study import storage, tuning
from prefeat.study.folds import assign_folds
from prefeat.study.plan import CVPlan

FOLD_SECONDS = 0.4


class SlowLinearModel(LinearModel):
    name = "slow-linear"

    def fit(self, X, y, groups=None):
        time.sleep(FOLD_SECONDS)
        return super().fit(X, y, groups)


def register() -> None:
    MODELS[SlowLinearModel.name] = SlowLinearModel


def inputs():
    battles, features, y = featurized_fixture(120)
    folds = assign_folds(battles, seed=0)
    return CVPlan(features, y, folds["fold"].to_numpy(), folds["group"].to_numpy())


if __name__ == "__main__":
    run_dir, storage_url, n_trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
    worker = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    storage.HEARTBEAT_SECONDS, storage.GRACE_SECONDS = 1, 4
    register()
    print("tuning", flush=True)
    tuning.tune(
        "slow-linear",
        inputs(),
        run_dir,
        n_trials=n_trials,
        time_budget=None,
        storage=storage_url,
        show_progress=False,
        worker=worker,
    )
