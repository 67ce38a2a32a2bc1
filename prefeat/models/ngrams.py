"""TF-IDF of character 2-4-grams inside word boundaries, in numpy: the lexical model's tokenizer.

It gives what scikit-learn's ``TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4),
sublinear_tf=True)`` gives (the same n-grams, counts, idf, order and names; tested), about seven
times faster (``benchmarks/bench_lexical.py``: 2,869 against 424 texts/s). scikit-learn slices every
n-gram as a Python string (about 2 ms for a typical answer on one core), which at the competition's
size (165,000 answers to read, several times over in cross-validation) cost minutes. Here each
n-gram is a ``uint64`` key, its characters' code points in 16-bit slots, so a text's n-grams are a
few array operations and the keys decode back to strings.

One difference, documented and tested: a character outside the Basic Multilingual Plane (emoji and
rare scripts, which do not fit 16 bits) and NUL both read as U+FFFD, the replacement character.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import scipy.sparse as sp

NGRAM_SIZES = (2, 3, 4)
SLOT_BITS = 16
REPLACEMENT = 0xFFFD
SPACE = ord(" ")
CHUNK_TEXTS = 5000  # fit and transform hold one chunk's n-gram counts at a time (fit_transform keeps them all)


def normalize(text: str) -> str:
    """Lower case, whitespace runs as one space, padded with a space: what char_wb reads."""
    words = text.lower().split()
    return " " + " ".join(words) + " " if words else ""


def raw_code_points(text: str) -> np.ndarray:
    return np.frombuffer(normalize(text).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def replaced(codes: np.ndarray) -> np.ndarray:
    """Which code points do not fit a 16-bit slot (or are NUL) and so read as U+FFFD."""
    return (codes > 0xFFFF) | (codes == 0)


def read_exactly(text: str) -> bool:
    """Whether no character of ``text`` reads as U+FFFD: where scikit-learn's char_wb gives the same."""
    return not replaced(raw_code_points(text)).any()


def code_points(text: str) -> np.ndarray:
    codes = raw_code_points(text)
    codes[replaced(codes)] = REPLACEMENT
    return codes


def text_keys(text: str) -> np.ndarray:
    """Every 2-, 3- and 4-gram of the text that has no space inside it (spaces may pad its ends),
    as keys, with repeats: exactly char_wb's n-grams of each space-padded word."""
    codes = code_points(text)
    interior_space = np.zeros(len(codes), dtype=bool)
    keys = []
    for n in NGRAM_SIZES:
        width = len(codes) - n + 1
        if width <= 0:
            break
        key = np.zeros(width, dtype=np.uint64)
        for position in range(n):
            key = (key << np.uint64(SLOT_BITS)) | codes[position : position + width]
        if n > 2:  # the characters strictly inside an n-gram may not be spaces
            interior_space[:width] |= codes[n - 2 : n - 2 + width] == SPACE
            key = key[~interior_space[:width]]
        keys.append(key << np.uint64(SLOT_BITS * (max(NGRAM_SIZES) - n)))
    return np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)


def key_names(keys: np.ndarray) -> np.ndarray:
    """The n-gram strings of ``keys``."""
    names = []
    for key in keys.tolist():
        slots = [(key >> (SLOT_BITS * shift)) & 0xFFFF for shift in range(max(NGRAM_SIZES) - 1, -1, -1)]
        names.append("".join(chr(slot) for slot in slots if slot))
    return np.asarray(names, dtype=str)


def name_keys(names: Iterable[str]) -> np.ndarray:
    """The keys of n-gram strings (the inverse of :func:`key_names`)."""
    keys = []
    for name in names:
        key = 0
        for character in name.ljust(max(NGRAM_SIZES), "\0"):
            key = (key << SLOT_BITS) | ord(character)
        keys.append(key)
    return np.asarray(keys, dtype=np.uint64)


def runs(sorted_keys: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts in a sorted array."""
    return np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]) if len(sorted_keys) else np.zeros(0, int)


def text_counts(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The text's distinct n-gram keys, sorted, and how often each occurs."""
    keys = np.sort(text_keys(text))
    starts = runs(keys)
    return keys[starts], np.diff(np.r_[starts, len(keys)])


def count_texts(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each text's distinct keys (sorted within a text) and counts, concatenated: ``(lengths, keys, counts)``."""
    counted = [text_counts(text) for text in texts]
    lengths = np.asarray([len(keys) for keys, _ in counted], dtype=np.int64)
    if not counted:
        return lengths, np.zeros(0, np.uint64), np.zeros(0, np.int64)
    return lengths, np.concatenate([keys for keys, _ in counted]), np.concatenate([count for _, count in counted])


def merge_totals(keys: np.ndarray, *totals: np.ndarray) -> tuple[np.ndarray, ...]:
    """Distinct keys, and each of ``totals`` summed per key."""
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = runs(keys)
    summed = (np.add.reduceat(total[order], starts) if len(starts) else total[:0] for total in totals)
    return (keys[starts], *summed)


def counted_chunks(texts: list[str]) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`count_texts` of ``texts``, a chunk of :data:`CHUNK_TEXTS` at a time."""
    return (count_texts(texts[start : start + CHUNK_TEXTS]) for start in range(0, len(texts), CHUNK_TEXTS))


def vocabulary_counts(chunks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every key in the counted chunks with its document frequency and total count."""
    keys, documents, occurrences = np.zeros(0, np.uint64), np.zeros(0), np.zeros(0)
    for _, chunk_keys, chunk_counts in chunks:
        keys, documents, occurrences = merge_totals(
            np.concatenate([keys, chunk_keys]),
            np.concatenate([documents, np.ones(len(chunk_keys))]),
            np.concatenate([occurrences, chunk_counts]),
        )
    return keys, documents, occurrences


def top_keys(keys, documents, occurrences, min_df: int, max_features: int | None) -> np.ndarray:
    """The keys in at least ``min_df`` texts; of those, the ``max_features`` most frequent (ties: by
    key), in key order, which is the n-grams' alphabetical order."""
    kept = documents >= min_df
    keys, occurrences = keys[kept], occurrences[kept]
    if max_features is not None and len(keys) > max_features:
        keys = keys[np.argsort(-occurrences, kind="stable")[:max_features]]
    return np.sort(keys)


class CharNgramTfidf:
    """TF-IDF of character 2-4-grams inside word boundaries (scikit-learn's ``char_wb``), with
    sublinear tf, smoothed idf and rows of unit length.

    ``__init__`` stores the settings; ``fit`` learns ``ngrams_`` (sorted keys) and ``idf_``.
    """

    def __init__(self, min_df: int = 1, max_features: int | None = None, dtype=np.float64):
        self.min_df = min_df
        self.max_features = max_features
        self.dtype = dtype

    def fit(self, texts) -> CharNgramTfidf:
        texts = list(texts)
        return self._fit_counted(counted_chunks(texts), len(texts))

    def fit_transform(self, texts) -> sp.csr_matrix:
        """Fit and transform, reading each text once."""
        texts = list(texts)
        chunks = list(counted_chunks(texts))  # read each text once, for the vocabulary and for the rows
        self._fit_counted(chunks, len(texts))
        return self._stack(chunks)

    def transform(self, texts) -> sp.csr_matrix:
        return self._stack(counted_chunks(list(texts)))

    def _fit_counted(self, chunks, n_texts: int) -> CharNgramTfidf:
        keys, documents, occurrences = vocabulary_counts(chunks)
        self.ngrams_ = top_keys(keys, documents, occurrences, self.min_df, self.max_features)
        if not len(self.ngrams_):
            raise ValueError(f"no character n-gram is in at least min_df={self.min_df} of the {n_texts} texts")
        position = np.searchsorted(keys, self.ngrams_)
        self.idf_ = np.log((1 + n_texts) / (1 + documents[position])) + 1
        return self

    def _stack(self, chunks) -> sp.csr_matrix:
        blocks = [self._weigh(*chunk) for chunk in chunks]
        if not blocks:
            return sp.csr_matrix((0, len(self.ngrams_)), dtype=self.dtype)
        return sp.vstack(blocks, format="csr")

    def _weigh(self, lengths, keys, counts) -> sp.csr_matrix:
        """The TF-IDF rows of one counted chunk: sublinear tf times idf, rows of unit length."""
        n_texts = len(lengths)
        rows = np.repeat(np.arange(n_texts), lengths)
        column = np.searchsorted(self.ngrams_, keys).clip(max=len(self.ngrams_) - 1)
        known = self.ngrams_[column] == keys
        rows, column, counts = rows[known], column[known], counts[known]
        weights = (1 + np.log(counts)) * self.idf_[column]
        weights /= np.sqrt(np.bincount(rows, weights=weights**2, minlength=n_texts))[rows]
        indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n_texts))]
        shape = (n_texts, len(self.ngrams_))
        return sp.csr_matrix((weights.astype(self.dtype), column, indptr), shape=shape)  # columns sorted in a row

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return key_names(self.ngrams_).astype(object)

    def vocabulary_arrays(self) -> dict[str, np.ndarray]:
        """What :meth:`with_vocabulary` reads back: the n-gram names and their idf, as plain arrays to save."""
        return {"ngrams": self.get_feature_names_out().astype(str), "idf": self.idf_}

    def with_vocabulary(self, names, idf) -> CharNgramTfidf:
        """This vectorizer fitted to stored n-gram names and idf (a saved model's)."""
        self.ngrams_ = name_keys(names)
        self.idf_ = np.asarray(idf, dtype=np.float64)
        return self
