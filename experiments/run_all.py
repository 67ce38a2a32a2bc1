"""Run the whole prefeat study: python experiments/run_all.py [--train data/train.csv] [--test data/test.csv]."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from prefeat.features.embedding import DEFAULT_MODEL
from prefeat.fetch import DataUnavailableError, ensure_train
from prefeat.models import MODELS
from prefeat.registry import FAMILIES, PRESETS
from prefeat.study import StudyConfig, run_study

DEFAULT_TRAIN = Path("data/train.csv")
DEFAULT_TEST = Path("data/test.csv")
DEFAULT_STORAGE = "sqlite:///runs/optuna.db"


def model_names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown models {unknown}; known: {list(MODELS)}")
    return names


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, default=DEFAULT_TRAIN, help="battles with labels (fetched if missing)")
    parser.add_argument("--test", type=Path, default=None, help="battles to predict (default data/test.csv if present)")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default runs/<timestamp>)")
    parser.add_argument(
        "--models", type=model_names, default=tuple(MODELS), help=f"comma-separated, from {list(MODELS)} (default: all)"
    )
    parser.add_argument("--trials", type=int, default=30, help="Optuna trials per model")
    parser.add_argument("--time-budget", type=float, default=600.0, help="seconds of tuning for all models together")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--families", help=f"comma-separated families from {list(FAMILIES)}")
    chosen.add_argument("--preset", choices=list(PRESETS), help="a preset of families (default: all)")
    parser.add_argument("--embedding-model", default=DEFAULT_MODEL, help="minilm, minilm-static or a model path")
    parser.add_argument(
        "--embedding-max-length", type=int, default=None, help="truncate embedding inputs (128: 2x faster MiniLM)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help="Optuna storage URL shared by reruns")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> StudyConfig:
    test = args.test if args.test is not None else (DEFAULT_TEST if DEFAULT_TEST.exists() else None)
    families = args.families.split(",") if args.families else args.preset
    if args.storage.startswith("sqlite:///"):
        Path(args.storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return StudyConfig(
        train=str(args.train),
        test=None if test is None else str(test),
        out=str(args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S")),
        families=families,
        embedding_model=args.embedding_model,
        embedding_max_length=args.embedding_max_length,
        models=args.models,
        trials=args.trials,
        time_budget=args.time_budget,
        seed=args.seed,
        storage=args.storage,
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        ensure_train(args.train)
    except DataUnavailableError as error:
        print(f"no training data: {error}", file=sys.stderr)
        return 2
    run_dir = run_study(config_from(args))
    print(f"done: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
