"""Shared helpers of the benchmarks: the real rows, tiling, and writing BENCHMARKS.md sections."""

from __future__ import annotations

import platform
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
KAGGLE_HEAD = SHARED_DATA / "arena" / "kaggle_train_head1000.csv"
PANDALM = SHARED_DATA / "pairwise" / "pandalm_testset_v1.csv"
MTBENCH = SHARED_DATA / "pairwise" / "mtbench_human_1751.csv"
DATASETS = {"kaggle": KAGGLE_HEAD, "mtbench": MTBENCH, "pandalm": PANDALM}
COMPETITION_ROWS = 57_477
BENCHMARKS_MD = REPO / "BENCHMARKS.md"


def tile(battles: pd.DataFrame, n_rows: int = COMPETITION_ROWS) -> pd.DataFrame:
    """The battles repeated up to ``n_rows``, with unique ids."""
    repeats = -(-n_rows // len(battles))
    tiled = pd.concat([battles] * repeats, ignore_index=True).iloc[:n_rows].copy()
    tiled["id"] = [f"{i}-{battle_id}" for i, battle_id in enumerate(tiled["id"])]
    return tiled.reset_index(drop=True)


def fold_groups(data_name: str, battles: pd.DataFrame) -> np.ndarray | None:
    """The validation groups of a shared set: MT-Bench's question (``mtbh_<question>_t<turn>_...``), else the prompt."""
    if data_name == "mtbench":
        return battles["id"].str.split("_").str[1].to_numpy()
    return None


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"


def write_section(name: str, body: str, command: str) -> None:
    """Replace (or append) the section ``name`` of BENCHMARKS.md, stamped with the command and date."""
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else "# prefeat benchmarks\n"
    block = (
        f"<!-- {name}:start -->\n{body.strip()}\n\n"
        f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {machine()})\n<!-- {name}:end -->"
    )
    pattern = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.DOTALL)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS_MD.write_text(text)


def table(header: list[str], rows: list[list]) -> str:
    def cell(value):
        if isinstance(value, float | np.floating):  # losses, accuracies and cosines keep 4 decimals
            return f"{value:,.4f}" if abs(value) < 2 else f"{value:,.1f}"
        return f"{value:,}" if isinstance(value, int | np.integer) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows])
