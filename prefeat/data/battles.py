"""Load Chatbot Arena battles from the formats they are published in.

Every loader returns the same tidy frame (see :func:`load_battles`). Malformed input raises
:class:`BattleDataError`, whose message names the file, the row id and the column.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

LABEL_COLUMNS = ("winner_model_a", "winner_model_b", "winner_tie")
_WINNER_CODES = {
    "a": 0,
    "model_a": 0,
    "b": 1,
    "model_b": 1,
    "tie": 2,
    "both_bad": 2,
    "tie (bothbad)": 2,
}


class BattleDataError(ValueError):
    """Input that cannot be read as battles; the message names file, row id and column."""

    def __init__(self, path, what: str, *, row_id=None, column: str | None = None):
        where = [str(path)]
        if row_id is not None:
            where.append(f"row id={row_id}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {what}")


def repair_text(text: str) -> str:
    """Pair valid UTF-16 surrogates and replace lone ones with U+FFFD.

    ``json.loads`` accepts ``"\\ud83d"`` on its own, but such a string cannot be encoded to UTF-8,
    which breaks tokenizers, hashing and parquet.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def parse_turns(cell, path, row_id, column: str) -> list[str]:
    """A JSON list of turns as a list of strings; a ``null`` turn becomes empty text."""
    if isinstance(cell, list | tuple):
        turns = list(cell)
    else:
        if not isinstance(cell, str):
            raise BattleDataError(
                path,
                f"expected a JSON list of turns, got {cell!r}",
                row_id=row_id,
                column=column,
            )
        try:
            turns = json.loads(cell)
        except json.JSONDecodeError as error:
            raise BattleDataError(path, f"unparseable JSON ({error.msg})", row_id=row_id, column=column) from None
        if turns is None or isinstance(turns, str):
            turns = [turns]
    if not isinstance(turns, list):
        raise BattleDataError(path, "expected a JSON list of turns", row_id=row_id, column=column)
    return [repair_text("" if turn is None else str(turn)) for turn in turns]


def first_bad_utf8(path: Path) -> tuple[int, int, bytes]:
    """Line number, byte offset and bytes of the first sequence in ``path`` that is not UTF-8."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return data.count(b"\n", 0, error.start) + 1, error.start, data[error.start : error.end]
    raise ValueError(f"{path} is valid UTF-8")


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    try:
        return pd.read_csv(path, dtype={"id": str}, keep_default_na=False, na_values=[""], encoding="utf-8")
    except UnicodeDecodeError:
        line, offset, bad = first_bad_utf8(path)
        raise BattleDataError(
            path,
            f"not UTF-8 text: byte {bad!r} at line {line} (offset {offset}); the competition's files are UTF-8, "
            f"so re-save this one as UTF-8 (for a Latin-1 file: iconv -f latin1 -t utf-8)",
        ) from None


def _require(frame: pd.DataFrame, path, columns: Iterable[str]) -> None:
    for column in columns:
        if column not in frame.columns:
            raise BattleDataError(path, "missing column", column=column)


def _labels_from_one_hot(frame: pd.DataFrame, path) -> list:
    values = frame[list(LABEL_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    labels = []
    for row_id, row in zip(frame["id"], values.itertuples(index=False), strict=True):
        one_hot = list(row)
        if any(pd.isna(v) or v not in (0, 1) for v in one_hot) or sum(one_hot) != 1:
            column = next(
                (c for c, v in zip(LABEL_COLUMNS, one_hot, strict=True) if pd.isna(v)),
                LABEL_COLUMNS[0],
            )
            raise BattleDataError(
                path,
                f"label columns {LABEL_COLUMNS} must be 0/1 and sum to one, got {one_hot}",
                row_id=row_id,
                column=column,
            )
        labels.append(one_hot.index(1))
    return labels


def _labels_from_winner(frame: pd.DataFrame, path, column: str) -> list:
    labels = []
    for row_id, winner in zip(frame["id"], frame[column], strict=True):
        code = _WINNER_CODES.get(str(winner).strip().lower())
        if code is None:
            raise BattleDataError(path, f"unknown winner {winner!r}", row_id=row_id, column=column)
        labels.append(code)
    return labels


def _split_conversation(cell, path, row_id, column: str) -> tuple[list[str], list[str]]:
    """User turns and assistant turns of a ``[{role, content}, ...]`` conversation."""
    messages = json.loads(cell) if isinstance(cell, str) else cell
    if messages is None or not hasattr(messages, "__iter__"):
        raise BattleDataError(
            path,
            "expected a list of {role, content} messages",
            row_id=row_id,
            column=column,
        )
    user, assistant = [], []
    for message in messages:
        if not hasattr(message, "get") or "role" not in message:
            raise BattleDataError(path, "message without a role", row_id=row_id, column=column)
        content = repair_text("" if message.get("content") is None else str(message.get("content")))
        (user if message["role"] == "user" else assistant).append(content)
    return user, assistant


def _turns_from_conversations(frame: pd.DataFrame, path) -> pd.DataFrame:
    prompts, responses_a, responses_b = [], [], []
    for row_id, conv_a, conv_b in zip(frame["id"], frame["conversation_a"], frame["conversation_b"], strict=True):
        try:
            prompt, answer_a = _split_conversation(conv_a, path, row_id, "conversation_a")
            _, answer_b = _split_conversation(conv_b, path, row_id, "conversation_b")
        except json.JSONDecodeError as error:
            raise BattleDataError(
                path,
                f"unparseable JSON ({error.msg})",
                row_id=row_id,
                column="conversation",
            ) from None
        prompts.append(prompt)
        responses_a.append(answer_a)
        responses_b.append(answer_b)
    return pd.DataFrame(
        {"prompt": prompts, "response_a": responses_a, "response_b": responses_b},
        index=frame.index,
    )


def _turns_from_columns(frame: pd.DataFrame, path) -> pd.DataFrame:
    return pd.DataFrame(
        {
            column: [
                parse_turns(cell, path, row_id, column) for row_id, cell in zip(frame["id"], frame[column], strict=True)
            ]
            for column in ("prompt", "response_a", "response_b")
        },
        index=frame.index,
    )


def load_battles(path) -> pd.DataFrame:
    """Read battles into one tidy frame.

    Columns: ``id`` (str), ``prompt``, ``response_a``, ``response_b`` (lists of turns),
    ``label`` (0 = A, 1 = B, 2 = tie, ``<NA>`` for a test file) and ``both_bad`` (True where an
    LMArena export voted both bad, which counts as a tie). ``model_a`` and ``model_b`` are kept
    when present. Accepts the competition's ``train.csv``/``test.csv``, the variant with one
    ``winner_model`` column, and LMArena's export (``conversation_a``/``conversation_b``,
    ``winner``), as CSV or parquet.
    """
    path = Path(path)
    raw = _read_table(path)
    if "id" not in raw.columns and "question_id" in raw.columns:
        raw = raw.rename(columns={"question_id": "id"})
    _require(raw, path, ["id"])
    raw["id"] = raw["id"].astype(str)
    duplicated = raw["id"][raw["id"].duplicated()]
    if len(duplicated):
        raise BattleDataError(path, "duplicate id", row_id=duplicated.iloc[0], column="id")

    if "conversation_a" in raw.columns:
        _require(raw, path, ["conversation_b"])
        tidy = _turns_from_conversations(raw, path)
    else:
        _require(raw, path, ["prompt", "response_a", "response_b"])
        tidy = _turns_from_columns(raw, path)
    tidy.insert(0, "id", raw["id"])

    winner_column = next((c for c in ("winner", "winner_model") if c in raw.columns), None)
    if winner_column is not None:
        labels = _labels_from_winner(raw, path, winner_column)
        both_bad = raw[winner_column].astype(str).str.contains("bad", case=False)
    elif any(column in raw.columns for column in LABEL_COLUMNS):
        _require(raw, path, LABEL_COLUMNS)
        labels = _labels_from_one_hot(raw, path)
        both_bad = pd.Series(False, index=raw.index)
    else:
        labels = [pd.NA] * len(raw)
        both_bad = pd.Series(False, index=raw.index)
    tidy["label"] = pd.array(labels, dtype="Int8")
    tidy["both_bad"] = both_bad.to_numpy(dtype=bool)
    for column in ("model_a", "model_b"):
        if column in raw.columns:
            tidy[column] = raw[column].astype(str)
    return tidy.reset_index(drop=True)


def swap_battles(battles: pd.DataFrame) -> pd.DataFrame:
    """The same battles with answers A and B exchanged and the labels flipped."""
    swapped = battles.copy()
    swapped["response_a"], swapped["response_b"] = (
        battles["response_b"],
        battles["response_a"],
    )
    if {"model_a", "model_b"} <= set(battles.columns):
        swapped["model_a"], swapped["model_b"] = battles["model_b"], battles["model_a"]
    swapped["label"] = battles["label"].map({0: 1, 1: 0, 2: 2}).astype("Int8")
    return swapped
