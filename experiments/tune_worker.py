"""Join a study's tuning as one more worker: python experiments/tune_worker.py --storage URL --model NAME [...].

Give it the same data and study options as the study run (`run_all.py`) and a storage that every
worker reaches (PostgreSQL: ``postgresql+psycopg2://user:password@host/db``). It featurizes
(from the cache, or computing it), builds the same folds and tuning subsample, and pulls trials of
the same Optuna study until the study holds ``--trials`` finished trials, whoever ran them, or
``--time-budget`` seconds of all workers' trials are spent (for this model's study alone). Start
as many as you like, here or on other machines; then ``run_all.py --storage URL`` with the same
options finds the trials done and uses the best parameters. A worker that dies mid-trial leaves
that trial to be failed and retried (Optuna's heartbeat; at once by the next process on the same
machine).

Workers on one machine share its cores: ``--workers-here K`` gives each of K workers ``cores // K``
threads (or say ``--n-jobs`` yourself), so K workers run about as many trials per hour as one worker
on every core, instead of fighting over the cores (BENCHMARKS.md, "Past one machine").
"""

from __future__ import annotations

import sys
from pathlib import Path

import run_all

from prefeat.data.battles import BattleDataError
from prefeat.data.fetch import DataUnavailableError
from prefeat.models import MODELS
from prefeat.study.prepare import prepare
from prefeat.study.runner import tune_model
from prefeat.study.steps import Steps
from prefeat.threads import available_cores, limited_threads


def main(argv=None) -> int:
    parser = run_all.study_parser(__doc__)
    parser.add_argument("--model", required=True, choices=list(MODELS), help="the model whose study to join")
    parser.add_argument("--worker", type=int, default=1, help="a number per worker (sampler seed; 0: the study)")
    parser.add_argument(
        "--workers-here",
        type=int,
        default=1,
        help="workers started on this machine: each gets cores // this many threads, unless --n-jobs says",
    )
    args = parser.parse_args(argv)
    if args.storage is None:
        parser.error("--storage is required: the URL of the storage every worker shares")
    if args.workers_here < 1:
        parser.error("--workers-here counts the workers on this machine: 1 or more")
    if args.n_jobs == -1:
        args.n_jobs = max(available_cores() // args.workers_here, 1)
    try:
        train, _ = run_all.resolve_data(args)
        config = run_all.config_from(args, train, None)
        with limited_threads(config.n_jobs):
            data = prepare(config, Steps(3))
    except (DataUnavailableError, BattleDataError) as error:
        print(f"cannot tune: {error}", file=sys.stderr)
        return 2
    run_dir = Path(config.out)
    with limited_threads(config.n_jobs):
        results = tune_model(args.model, config, data, run_dir, config.time_budget, worker=args.worker)
    for result in results:
        held = f"{result.study_name} holds {result.n_trials} finished trials"
        print(f"worker {args.worker}: {held}; best {result.best_loss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
