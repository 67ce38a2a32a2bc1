"""Length of a conversation side: characters, words, lines, paragraphs, sentences, turns, tokens."""

from __future__ import annotations

import re

import numpy as np

from prefeat.data.text import join_turns

METRICS = ("chars", "words", "lines", "paragraphs", "sentences", "turns", "tokens")

_WORD = re.compile(r"\S+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
# Words and single punctuation marks: a cheap stand-in for a BPE token count.
_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_sentences(text: str) -> int:
    """Sentence-ending punctuation runs, plus one for trailing text that has none."""
    stripped = text.strip()
    if not stripped:
        return 0
    ends = list(_SENTENCE_END.finditer(stripped))
    trailing = stripped[ends[-1].end() :].strip() if ends else stripped
    return len(ends) + (1 if trailing else 0)


def side_lengths(turns: tuple[str, ...]) -> list[float]:
    text = join_turns(turns)
    return [
        len(text),
        len(_WORD.findall(text)),
        len([line for line in text.split("\n") if line.strip()]),
        len([block for block in _PARAGRAPH_BREAK.split(text) if block.strip()]),
        sum(count_sentences(turn) for turn in turns),
        len(turns),
        len(_TOKEN.findall(text)),
    ]


def compute(sides: list[tuple[str, ...]]) -> np.ndarray:
    return np.array([side_lengths(turns) for turns in sides], dtype=float).reshape(len(sides), len(METRICS))
