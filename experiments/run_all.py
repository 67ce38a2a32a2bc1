"""Run the whole prefeat study: python experiments/run_all.py [--train data/train.csv] [--test data/test.csv].

Without ``--train``, it reads ``data/train.csv``; when that is missing it fetches the public copy,
and when that cannot be had (no network) it runs on the sample shipped in ``data/sample/``.
"""

from __future__ import annotations

import argparse
import sys
import time
import typing
from dataclasses import fields
from pathlib import Path

from prefeat.data.battles import BattleDataError
from prefeat.data.fetch import DataUnavailableError, ensure_train
from prefeat.features.registry import FAMILIES, PRESETS
from prefeat.features.settings import FeaturizerSettings
from prefeat.models import DEFAULT_MODELS, MODELS
from prefeat.study import StudyConfig, run_study
from prefeat.study.config import TUNE_ROWS
from prefeat.study.tuning import DEFAULT_TIME_BUDGET, DEFAULT_TRIALS

DATA = Path(__file__).resolve().parents[1] / "data"
DEFAULT_TRAIN = Path("data/train.csv")
DEFAULT_TEST = Path("data/test.csv")
SAMPLE_TRAIN = DATA / "sample" / "train.csv"
SAMPLE_TEST = DATA / "sample" / "test.csv"


def model_names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown models {unknown}; known: {list(MODELS)}")
    return names


def parse_args(argv=None) -> argparse.Namespace:
    return study_parser(__doc__).parse_args(argv)


def study_parser(description: str) -> argparse.ArgumentParser:
    """The study's options; ``tune_worker.py`` adds its own to the same set."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, default=None, help="battles with labels (default data/train.csv)")
    parser.add_argument("--test", type=Path, default=None, help="battles to predict (default data/test.csv if present)")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default runs/<timestamp>)")
    parser.add_argument(
        "--models",
        type=model_names,
        default=DEFAULT_MODELS,
        help=f"comma-separated, from {list(MODELS)} (default: {','.join(DEFAULT_MODELS)})",
    )
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS, help="Optuna trials per model")
    parser.add_argument(
        "--time-budget", type=float, default=DEFAULT_TIME_BUDGET, help="seconds of tuning for all models together"
    )
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--families", help=f"comma-separated families from {list(FAMILIES)}")
    chosen.add_argument("--preset", choices=list(PRESETS), help="a preset of families (default: all)")
    add_feature_options(parser)
    parser.add_argument(
        "--tune-rows",
        type=int,
        default=TUNE_ROWS,
        help="above twice this many battles, tune on a grouped subsample of about this many, which the scores "
        "leave out; below, on two halves of the prompts that score each other (0: always the halves)",
    )
    parser.add_argument("--dask", default=None, help="featurize on Dask: a scheduler address, or local")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="cores for every part: boosters, solvers, text-family processes, torch (-1: all this machine gives)",
    )
    parser.add_argument("--storage", default=None, help="Optuna storage URL (default: runs/optuna.db)")
    return parser


def add_feature_options(parser: argparse.ArgumentParser) -> None:
    """One option per field of FeaturizerSettings (``--embedding-model`` for ``embedding_model``), with its
    default and help; the families have their own two options."""
    types = typing.get_type_hints(FeaturizerSettings)
    for option in fields(FeaturizerSettings):
        if option.name == "families":
            continue
        flag, help_text = "--" + option.name.replace("_", "-"), option.metadata["help"]
        if types[option.name] is bool:
            parser.add_argument(flag, action="store_true", help=help_text)
            continue
        choices = typing.get_args(types[option.name]) or (types[option.name],)  # int | None: int
        value_type = next(t for t in choices if t is not type(None))
        parser.add_argument(flag, type=value_type, default=option.default, help=help_text)


def feature_settings(args: argparse.Namespace) -> FeaturizerSettings:
    names = [option.name for option in fields(FeaturizerSettings) if option.name != "families"]
    chosen = {name: getattr(args, name) for name in names}
    return FeaturizerSettings(families=args.families.split(",") if args.families else args.preset, **chosen)


def resolve_data(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """The training and test files: the given ones, data/, the fetched public copy, or the shipped sample.

    An explicit ``--train`` that cannot be had raises :class:`DataUnavailableError`.
    """
    if args.train is not None:
        return ensure_train(args.train), args.test
    try:
        train = ensure_train(DEFAULT_TRAIN)
    except DataUnavailableError as error:
        print(
            f"running on the {SAMPLE_TRAIN.parent.name} of 900 public battles shipped in {SAMPLE_TRAIN.parent}, "
            f"not the competition data ({error})",
            flush=True,
        )
        return SAMPLE_TRAIN, args.test or SAMPLE_TEST
    return train, args.test if args.test is not None else (DEFAULT_TEST if DEFAULT_TEST.exists() else None)


def config_from(args: argparse.Namespace, train: Path, test: Path | None) -> StudyConfig:
    return StudyConfig(
        train=str(train),
        test=None if test is None else str(test),
        out=str(args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S")),
        features=feature_settings(args),
        models=args.models,
        trials=args.trials,
        time_budget=args.time_budget,
        tune_rows=args.tune_rows or None,
        dask=args.dask,
        seed=args.seed,
        storage=args.storage,
        n_jobs=args.n_jobs,
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        train, test = resolve_data(args)
    except DataUnavailableError as error:
        print(f"no training data: {error}", file=sys.stderr)
        return 2
    try:
        run_dir = run_study(config_from(args, train, test))
    except BattleDataError as error:
        print(f"bad input: {error}", file=sys.stderr)
        return 2
    print(f"done: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
