"""Predict battles with a saved pipeline and write a Kaggle submission.

python experiments/predict.py --pipeline runs/<t>/pipeline --test data/test.csv --out submission.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prefeat import BattleDataError, PipelineError, load_battles, load_pipeline


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", type=Path, required=True, help="the pipeline folder a training run saved")
    parser.add_argument("--test", type=Path, required=True, help="battles to predict (competition test format)")
    parser.add_argument("--out", type=Path, default=Path("submission.csv"), help="where to write the submission")
    parser.add_argument("--cache-dir", default=None, help="feature cache (default $PREFEAT_CACHE or ~/.cache/prefeat)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        pipeline = load_pipeline(args.pipeline, cache_dir=args.cache_dir)
        battles = load_battles(args.test)
    except (PipelineError, BattleDataError, FileNotFoundError) as error:
        print(f"cannot predict: {error}", file=sys.stderr)
        return 2
    submission = pipeline.predict_proba(battles)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    submission.to_csv(args.out, index=False)
    print(f"{len(submission)} battles predicted: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
