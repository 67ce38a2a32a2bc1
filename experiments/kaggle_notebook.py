"""The Kaggle notebook: install prefeat offline, load the saved pipeline, predict the hidden test.

Paste this file into a Kaggle notebook (internet off) that has three inputs attached: the
competition, a dataset holding ``dist/wheelhouse/`` (``make wheelhouse``) and a dataset holding a
training run's ``pipeline/`` folder. Rename the paths below if your datasets are named otherwise.
Run locally with the paths passed in:

python experiments/kaggle_notebook.py --wheelhouse W --pipeline P --test T --out O --cache C
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from pathlib import Path

WHEELHOUSE = Path("/kaggle/input/prefeat-wheelhouse")
PIPELINE = Path("/kaggle/input/prefeat-pipeline")
TEST = Path("/kaggle/input/llm-classification-finetuning/test.csv")
OUT = Path("/kaggle/working/submission.csv")
CACHE = Path("/kaggle/working/prefeat-cache")


def install(wheelhouse: Path) -> None:
    """Install every wheel of the wheelhouse, from disk only, without touching Kaggle's other packages."""
    wheels = sorted(str(wheel) for wheel in wheelhouse.rglob("*.whl"))
    if not wheels:
        raise SystemExit(f"no wheels in {wheelhouse}: attach the dataset made from dist/wheelhouse/")
    # --force-reinstall: the wheelhouse's versions replace the image's (scikit-learn, XGBoost) even when equal
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--force-reinstall"]
    command += ["--find-links"]
    subprocess.run([*command, str(wheelhouse), *wheels], check=True)
    importlib.invalidate_caches()


def predict(pipeline_dir: Path, test: Path, out: Path, cache: Path) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["PREFEAT_CACHE"] = str(cache)
    import prefeat

    print(f"prefeat {prefeat.__version__} from {Path(prefeat.__file__).parent}", flush=True)
    pipeline = prefeat.load_pipeline(pipeline_dir, cache_dir=cache)
    submission = pipeline.predict_proba(prefeat.load_battles(test))
    out.parent.mkdir(parents=True, exist_ok=True)
    submission.to_csv(out, index=False)
    print(f"{len(submission)} battles predicted: {out}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheelhouse", type=Path, default=WHEELHOUSE)
    parser.add_argument("--pipeline", type=Path, default=PIPELINE)
    parser.add_argument("--test", type=Path, default=TEST)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--cache", type=Path, default=CACHE)
    args, _ = parser.parse_known_args(argv)  # a notebook kernel passes its own arguments
    install(args.wheelhouse)
    predict(args.pipeline, args.test, args.out, args.cache)
    return 0


if __name__ == "__main__":
    main()  # no sys.exit: in a notebook cell it would raise SystemExit
