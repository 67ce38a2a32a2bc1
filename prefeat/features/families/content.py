"""What the other families miss: overlap with the prompt and between the answers, repetition, script
mismatch, questions back to the user, numbers, URLs, LaTeX and emoji.

Overlap needs two texts at once, so this family computes whole battles (prompt, A, B) rather than
one side at a time; each row is answer A's metrics, then answer B's, then the symmetric A-B overlap.
Words are lowercase ``\\w+`` runs; bigrams are pairs of consecutive words.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

import numpy as np

from prefeat.data.text import join_turns

SIDE_METRICS = (
    "prompt_word_recall",  # share of the prompt's distinct words that the answer uses
    "prompt_bigram_recall",  # the same for word bigrams
    "copied_words",  # share of the answer's distinct words that come from the prompt
    "repetition",  # share of the answer's word trigrams that repeat an earlier one
    "script_mismatch",  # half the L1 distance between the prompt's and the answer's letter-script shares
    "questions",  # sentences ending in a question mark
    "numbers",
    "urls",
    "latex",
    "emoji",
)
PAIR_METRICS = ("word_jaccard", "bigram_jaccard")
SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARABIC", "HEBREW", "CJK", "HANGUL", "HIRAGANA", "KATAKANA", "DEVANAGARI")

_WORD = re.compile(r"\w+")
_QUESTION = re.compile(r"\?+(?=\s|$)")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)*(?![\w])")
_URL = re.compile(r"https?://\S+|www\.\S+")
_LATEX = re.compile(
    r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)|(?<![\\$\w])\$[^$\s][^$\n]*?\$(?!\d)|\\[a-zA-Z]+\{", re.DOTALL
)
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\U0001f1e6-\U0001f1ff]")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def recall(reference: set, candidate: set) -> float:
    """Share of ``reference`` found in ``candidate``; 0 for an empty reference."""
    return len(reference & candidate) / len(reference) if reference else 0.0


def jaccard(left: set, right: set) -> float:
    union = left | right
    return len(left & right) / len(union) if union else 0.0


def repetition(tokens: list[str]) -> float:
    """Share of word trigrams that already occurred earlier in the text (0 below three words)."""
    trigrams = ngrams(tokens, 3)
    return 1.0 - len(set(trigrams)) / len(trigrams) if trigrams else 0.0


@lru_cache(maxsize=65536)
def script_of(character: str) -> str:
    """The Unicode script family of a letter, from its name (``CJK UNIFIED IDEOGRAPH`` -> ``CJK``)."""
    name = unicodedata.name(character, "")
    return next((script for script in SCRIPTS if name.startswith(script)), "OTHER")


def script_shares(text: str) -> np.ndarray:
    """Share of the text's letters in each script of :data:`SCRIPTS` plus ``OTHER``; zeros without letters."""
    counts = dict.fromkeys((*SCRIPTS, "OTHER"), 0)
    for character, occurrences in Counter(text).items():  # each distinct character named once
        if character.isalpha():
            counts[script_of(character)] += occurrences
    total = sum(counts.values())
    return np.array(list(counts.values()), dtype=float) / total if total else np.zeros(len(counts))


def script_mismatch(prompt_shares: np.ndarray, answer_shares: np.ndarray) -> float:
    """0 when prompt and answer write in the same scripts, 1 when in disjoint ones; 0 if either has no letters."""
    if not prompt_shares.any() or not answer_shares.any():
        return 0.0
    return float(np.abs(prompt_shares - answer_shares).sum() / 2)


class Text:
    """A side's text and the token sets the metrics share."""

    def __init__(self, turns):
        self.text = join_turns(turns)
        self.tokens = words(self.text)
        self.words = set(self.tokens)
        self.bigrams = set(ngrams(self.tokens, 2))
        self.scripts = script_shares(self.text)


def side_metrics(prompt: Text, answer: Text) -> list[float]:
    text = answer.text
    return [
        recall(prompt.words, answer.words),
        recall(prompt.bigrams, answer.bigrams),
        recall(answer.words, prompt.words),
        repetition(answer.tokens),
        script_mismatch(prompt.scripts, answer.scripts),
        len(_QUESTION.findall(text)),
        len(_NUMBER.findall(text)),
        len(_URL.findall(text)),
        len(_LATEX.findall(text)),
        len(_EMOJI.findall(text)),
    ]


def battle_row(prompt_turns, a_turns, b_turns) -> list[float]:
    prompt, answer_a, answer_b = Text(prompt_turns), Text(a_turns), Text(b_turns)
    pair = [jaccard(answer_a.words, answer_b.words), jaccard(answer_a.bigrams, answer_b.bigrams)]
    return side_metrics(prompt, answer_a) + side_metrics(prompt, answer_b) + pair


def compute(battles: list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]) -> np.ndarray:
    """One row per (prompt, A, B) battle: A's side metrics, B's, then the pair metrics."""
    width = 2 * len(SIDE_METRICS) + len(PAIR_METRICS)
    return np.array([battle_row(*battle) for battle in battles], dtype=float).reshape(len(battles), width)
