"""Small text helpers shared by the feature families."""

from __future__ import annotations

import hashlib
import json
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
    """Content hash of a conversation side (its list of turns)."""
    payload = json.dumps(list(turns), ensure_ascii=False).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(payload, digest_size=16).hexdigest()
