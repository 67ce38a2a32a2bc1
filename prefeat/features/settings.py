"""FeaturizerSettings: the one object that says how battles become features.

The command line, :class:`~prefeat.study.config.StudyConfig`, :class:`~prefeat.features.featurizer.ArenaFeaturizer`,
the on-disk cache, the Optuna study key and a saved pipeline all read it, so every default is
defined here once. Its fingerprint hashes the families' fingerprints (code, parameters, package
versions), so anything that changes a feature value changes the fingerprint.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields

from prefeat.features.families.embedding import DEFAULT_BATCH_SIZE, DEFAULT_COMPONENTS, DEFAULT_MODEL, DEFAULT_TOPICS
from prefeat.features.registry import FAMILIES, PRESETS, FeatureFamily, embedding_family, resolve_families

DEFAULT_PRESET = "all"
MACHINE_KEYS = ("n_jobs",)  # once saved with the settings (pipelines before 0.4); ignored on load


@dataclass(frozen=True)
class FeaturizerSettings:
    """Feature families and the embedding model with its options.

    ``families`` takes a preset name, a list of family names or None (the default preset) and
    is stored resolved, as a tuple of names. ``embedding_components`` is the size of the learned
    projection of each answer's vector and ``prompt_topics`` the number of learned prompt topics
    (0 turns either off). ``batch_size`` is texts per embedding batch (it can move embedding values
    in the last float digits, so it is part of the fingerprint). How many cores compute them is not a
    setting of the features (it changes no value): it is ``n_jobs`` of the featurizer, the study and
    the pipeline, see :mod:`prefeat.threads`.
    """

    families: tuple[str, ...] = PRESETS[DEFAULT_PRESET]
    embedding_model: str = field(default=DEFAULT_MODEL, metadata={"help": "minilm, minilm-static or a model path"})
    embedding_max_length: int | None = field(default=None, metadata={"help": "truncate embedding inputs"})
    embedding_int8: bool = field(default=False, metadata={"help": "int8 quantization of a transformer model"})
    embedding_components: int = field(
        default=DEFAULT_COMPONENTS, metadata={"help": "size of the learned projection of each answer's vector"}
    )
    prompt_topics: int = field(default=DEFAULT_TOPICS, metadata={"help": "learned prompt topics (0: none)"})
    batch_size: int = field(default=DEFAULT_BATCH_SIZE, metadata={"help": "texts per embedding batch"})

    def __post_init__(self):
        chosen = PRESETS[DEFAULT_PRESET] if self.families is None else self.families
        object.__setattr__(self, "families", resolve_families(chosen))

    def family(self, name: str, cache_dir=None) -> FeatureFamily:
        """The family ``name`` as these settings configure it (``cache_dir`` holds a distilled static model)."""
        if name == "embedding":
            return embedding_family(
                self.embedding_model,
                self.batch_size,
                cache_dir,
                self.embedding_max_length,
                self.embedding_int8,
                self.embedding_components,
                self.prompt_topics,
            )
        return FAMILIES[name]

    def columns(self) -> list[str]:
        return [column for name in self.families for column in self.family(name).columns()]

    def fingerprint(self) -> str:
        """A hash of everything that determines the feature values."""
        keys = "|".join(self.family(name).cache_key for name in self.families)
        keys += f"|components={self.embedding_components}|topics={self.prompt_topics}"
        return hashlib.blake2b(keys.encode(), digest_size=8).hexdigest()

    def to_dict(self) -> dict:
        return {**asdict(self), "families": list(self.families)}

    @classmethod
    def from_dict(cls, values: dict) -> FeaturizerSettings:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in values.items() if key not in MACHINE_KEYS}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown featurizer settings {unknown}; known: {sorted(known)}")
        return cls(**{**values, "families": tuple(values.get("families") or PRESETS[DEFAULT_PRESET])})


DEFAULTS = FeaturizerSettings()
