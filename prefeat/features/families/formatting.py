"""Markdown formatting, counted outside fenced code blocks as LMArena's style control counts it."""

from __future__ import annotations

import re

import numpy as np

from prefeat.data.text import join_turns, strip_fenced_code

METRICS = (
    "headers",
    "ordered_items",
    "unordered_items",
    "bold",
    "italics",
    "code_blocks",
    "inline_code",
    "tables",
    "links",
    "block_quotes",
    "newlines",
)

_PATTERNS = {
    "headers": re.compile(r"^ {0,3}#{1,6}\s+\S", re.MULTILINE),
    "ordered_items": re.compile(r"^\s*\d+[.)]\s+\S", re.MULTILINE),
    "unordered_items": re.compile(r"^\s*[-*+]\s+\S", re.MULTILINE),
    "bold": re.compile(r"\*\*[^*\n]+?\*\*|__[^_\n]+?__"),
    "italics": re.compile(
        r"(?<![*\w])\*(?![*\s])[^*\n]+?(?<![*\s])\*(?![*\w])|(?<![_\w])_(?![_\s])[^_\n]+?(?<![_\s])_(?![_\w])"
    ),
    "inline_code": re.compile(r"`[^`\n]+`"),
    # one table = one header separator row such as |---|:--:|
    "tables": re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$", re.MULTILINE),
    "links": re.compile(r"\[[^\]\n]+\]\([^)\s]+\)|(?<!\()https?://\S+"),
    "block_quotes": re.compile(r"^ {0,3}>", re.MULTILINE),
}


# A pattern can only match where one of these substrings occurs: checking them first skips most
# regex scans (the lookbehind patterns are the slow ones).
_NEEDS = {
    "headers": ("#",),
    "ordered_items": (". ", ") "),
    "unordered_items": ("- ", "* ", "+ "),
    "bold": ("**", "__"),
    "italics": ("*", "_"),
    "inline_code": ("`",),
    "tables": ("|",),
    "links": ("](", "http"),
    "block_quotes": (">",),
}


def count_pattern(name: str, prose: str) -> int:
    if not any(needle in prose for needle in _NEEDS[name]):
        return 0
    return len(_PATTERNS[name].findall(prose))


def side_formatting(turns: tuple[str, ...]) -> list[float]:
    prose, code_blocks = strip_fenced_code(join_turns(turns))
    counts = {name: count_pattern(name, prose) for name in _PATTERNS}
    counts["code_blocks"] = code_blocks
    counts["newlines"] = prose.count("\n")
    return [counts[name] for name in METRICS]


def compute(sides: list[tuple[str, ...]]) -> np.ndarray:
    return np.array([side_formatting(turns) for turns in sides], dtype=float).reshape(len(sides), len(METRICS))
