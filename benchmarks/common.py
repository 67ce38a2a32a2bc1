"""Shared helpers of the benchmarks: the real rows, tiling, and writing BENCHMARKS.md sections."""

from __future__ import annotations

import json
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


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def distinct_text(text: str, rng: np.random.Generator, tag: str) -> str:
    """The text with its sentences in a random order and a unique tag: same length and words, new content."""
    sentences = _SENTENCE_END.split(text)
    order = rng.permutation(len(sentences))
    return " ".join(sentences[i] for i in order) + f" [{tag}]"


def length_label_proba(battles: pd.DataFrame) -> np.ndarray:
    """P(A), P(B), P(tie) of each real battle from a logistic regression on the answers' length
    difference alone: the style signal of the real rows (log loss about 1.05 against the prior's 1.10)."""
    from sklearn.linear_model import LogisticRegression

    lengths = {side: battles[side].map(lambda turns: sum(map(len, turns))).to_numpy(float) for side in SIDES}
    normdiff = (lengths["response_a"] - lengths["response_b"]) / (lengths["response_a"] + lengths["response_b"] + 1)
    X = np.column_stack([normdiff, np.abs(normdiff)])
    y = battles["label"].to_numpy(dtype=int)
    return LogisticRegression().fit(X, y).predict_proba(X)


SIDES = ("response_a", "response_b")


def distinct_battles(battles: pd.DataFrame, n_rows: int, seed: int = 0, labels: bool = True) -> pd.DataFrame:
    """``n_rows`` battles drawn from real ones, every prompt and answer made distinct.

    Rows are drawn with replacement, so text lengths and turn counts follow the real rows; each
    turn has its sentences reordered and a unique tag appended, so no side repeats (no cache hit,
    nothing that tiling would let a featurizer skip). Raw competition-format columns.

    Labels are drawn afresh for every battle from :func:`length_label_proba` of its source row, not
    copied: copied labels let a model learn the ~57 near-identical copies of each real row (log
    loss 0.56 at 3,000 rows), while drawn labels carry the real rows' length signal and no more.
    Labelled battles keep their source rows' model names (a test file has none), so the names say
    nothing of the drawn labels: a workload for timing what learns from names, not for its quality.
    """
    rng = np.random.default_rng(seed)
    sources = rng.integers(0, len(battles), n_rows)
    drawn = battles.iloc[sources].reset_index(drop=True)
    rows = {"id": [f"synthetic-{seed}-{i}" for i in range(n_rows)]}
    for column in ("prompt", "response_a", "response_b"):
        rows[column] = [
            json.dumps([distinct_text(turn, rng, f"{seed}.{i}.{column}.{t}") for t, turn in enumerate(turns)])
            for i, turns in enumerate(drawn[column])
        ]
    frame = pd.DataFrame(rows)
    if labels:  # a training file: it names the models, as the competition's train.csv does
        for column in ("model_a", "model_b"):
            frame[column] = drawn[column].to_numpy()
        proba = length_label_proba(battles)[sources]
        outcome = (rng.random(n_rows)[:, None] > np.cumsum(proba, axis=1)).sum(axis=1).clip(0, 2)
        for code, column in enumerate(("winner_model_a", "winner_model_b", "winner_tie")):
            frame[column] = (outcome == code).astype(int)
    return frame


def load_battles_from(frame: pd.DataFrame, scratch) -> pd.DataFrame:
    """Raw competition-format rows, loaded as a file of them would be (written to ``scratch`` first)."""
    from prefeat import load_battles

    path = Path(scratch) / "distinct.csv"
    frame.to_csv(path, index=False)
    return load_battles(path)


def peak_memory_mb(pid_children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children), in MB."""
    import resource

    who = resource.RUSAGE_CHILDREN if pid_children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


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
