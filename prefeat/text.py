"""Small text helpers shared by the feature families."""

from __future__ import annotations

import hashlib
import re

TURN_SEPARATOR = "\n\n"
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
