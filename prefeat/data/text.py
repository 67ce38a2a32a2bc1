"""Conversation sides as text: turns joined, fenced code stripped, content hashes, the answers' texts."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd

TURN_SEPARATOR = "\n\n"
ANSWER_COLUMNS = ("response_a", "response_b")
AUTHOR_COLUMNS = ("model_a", "model_b")  # who wrote each answer: training files have them, test files do not
_FENCED_CODE = re.compile(r"^ {0,3}(```|~~~).*?(?:^ {0,3}\1[^\n]*$|\Z)", re.MULTILINE | re.DOTALL)


def join_turns(turns) -> str:
    """One text for a conversation side: its turns separated by a blank line."""
    return TURN_SEPARATOR.join(turns)


def strip_fenced_code(text: str) -> tuple[str, int]:
    """The text without fenced code blocks, and how many blocks were removed."""
    stripped, blocks = _FENCED_CODE.subn("", text)
    return stripped, blocks


def side_hash(turns) -> str:
    """Content hash of a conversation side (its list of turns): each turn's UTF-8 length, then its bytes,
    so two different lists never feed the hash the same bytes (about three times faster than hashing
    the list's JSON, which a study did 13 times over 82,000 battles)."""
    digest = hashlib.blake2b(digest_size=16)
    for turn in turns:
        encoded = turn.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return digest.hexdigest()


def as_sides(column: pd.Series) -> list[tuple[str, ...]]:
    """Conversation sides as tuples of turns; a plain string is one turn, a missing value empty."""
    sides = []
    for value in column:
        if isinstance(value, str):
            sides.append((value,))
        elif value is None or (np.isscalar(value) and pd.isna(value)):
            sides.append(("",))
        else:
            sides.append(tuple("" if turn is None else str(turn) for turn in value))
    return sides


def answer_texts(battles: pd.DataFrame) -> pd.DataFrame:
    """Each battle's two answers as single strings (turns joined), indexed by ``id``: what the lexical and
    identity models read; with the authors' names (``model_a``, ``model_b``, missing ones as None) where the
    battles have them, which the identity model learns from."""
    texts = {column: [join_turns(turns) for turns in as_sides(battles[column])] for column in ANSWER_COLUMNS}
    if all(column in battles.columns for column in AUTHOR_COLUMNS):
        texts |= {column: [author_name(value) for value in battles[column]] for column in AUTHOR_COLUMNS}
    return pd.DataFrame(texts, index=battles["id"].to_numpy())


def author_name(value) -> str | None:
    """A model name as a stripped string; a missing or blank one is None."""
    if not isinstance(value, str) and pd.isna(value):
        return None
    return str(value).strip() or None
