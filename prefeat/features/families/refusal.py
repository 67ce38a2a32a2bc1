"""Refusals and disclaimers: apologies, "as an AI", "I can't help with that", policy talk.

``refusal_score`` counts how many of the pattern groups below a side matches (0 to 5);
``refusal_flag`` is 1 when the side refuses outright: an inability pattern, or an apology
beside policy talk, in its opening 300 characters.
"""

from __future__ import annotations

import re

import numpy as np

from prefeat.data.text import join_turns

METRICS = ("refusal_flag", "refusal_score")

# Patterns run on lowercased text with curly apostrophes straightened: case-sensitive literal
# prefixes let the regex engine skip ahead, several times faster than re.IGNORECASE.
GROUPS = {
    "apology": re.compile(r"\b(i'm sorry|i am sorry|i apologi[sz]e|my apologies|sorry, but)\b"),
    "ai_identity": re.compile(r"\bas an? (ai|artificial intelligence|language model|large language model|llm)\b"),
    "inability": re.compile(
        r"\bi(?: can(?:not|'t)| am (?:not able|unable)|'m (?:not able|unable)| won't| will not|"
        r" do not feel comfortable| don't feel comfortable)\b.{0,40}?"
        r"\b(?:help|assist|provid|comply|fulfil|generat|creat|writ|recommend|do that|engag|answer|support|produc|shar)"
    ),
    "policy": re.compile(
        r"\b(not appropriate|inappropriate|against (my|our|the) [\w ]{0,20}(policy|policies|guidelines)|"
        r"unethical|harmful|illegal|offensive)\b"
    ),
    "disclaimer": re.compile(
        r"\b(i am not a|i'm not a) (doctor|lawyer|financial|medical|legal|professional)|"
        r"\b(consult|seek) (a|an|with a|with an) (professional|doctor|lawyer|expert|specialist)|"
        r"\bthis is not (medical|legal|financial) advice|\bfor informational purposes"
    ),
}
OPENING_CHARS = 300


def side_refusal(turns: tuple[str, ...]) -> list[float]:
    text = join_turns(turns).lower().replace("\u2019", "'")
    score = sum(bool(pattern.search(text)) for pattern in GROUPS.values())
    opening = text[:OPENING_CHARS]
    apologises_for_policy = GROUPS["apology"].search(opening) and GROUPS["policy"].search(opening)
    flag = bool(GROUPS["inability"].search(opening) or apologises_for_policy)
    return [float(flag), float(score)]


def compute(sides: list[tuple[str, ...]]) -> np.ndarray:
    return np.array([side_refusal(turns) for turns in sides], dtype=float).reshape(len(sides), len(METRICS))
