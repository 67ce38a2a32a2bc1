"""ArenaFeaturizer: battles in, one feature table out, as a scikit-learn transformer."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from prefeat.data.text import as_sides, side_hash
from prefeat.features.registry import FeatureFamily
from prefeat.features.settings import DEFAULTS, FeaturizerSettings
from prefeat.features.sidecache import SideCache
from prefeat.paths import cache_root
from prefeat.threads import limited_threads, resolve_n_jobs

SIDE_COLUMNS = ("prompt", "response_a", "response_b")
MIN_CHUNKS_TO_FAN_OUT = 4  # below this, starting worker processes costs more than it saves


@dataclass
class BattleSides:
    """The battles' sides as tuples of turns, their content hashes, and the distinct ones by hash."""

    hashes: dict[str, list[str]]
    unique: dict[str, tuple[str, ...]]
    battle_hashes: list[str]
    battles: dict[str, tuple[tuple[str, ...], ...]]


def battle_sides(X: pd.DataFrame) -> BattleSides:
    """Sides and hashes of the battles in ``X``; a battle's hash is that of its three sides' hashes."""
    missing = [column for column in SIDE_COLUMNS if column not in X.columns]
    if missing:
        raise ValueError(f"ArenaFeaturizer needs the columns {list(SIDE_COLUMNS)}; missing {missing}")
    roles = {column: as_sides(X[column]) for column in SIDE_COLUMNS}
    hashes = {column: [side_hash(turns) for turns in sides] for column, sides in roles.items()}
    unique = {}
    for column in SIDE_COLUMNS:
        unique.update(zip(hashes[column], roles[column], strict=True))
    battle_hashes = [side_hash(triple) for triple in zip(*hashes.values(), strict=True)]
    battles = dict(zip(battle_hashes, zip(*roles.values(), strict=True), strict=True))
    return BattleSides(hashes, unique, battle_hashes, battles)


@contextmanager
def dask_scheduler(scheduler: str, n_jobs: int | None = None):
    """A Dask scheduler's address: for ``"local"``, a LocalCluster of ``n_jobs`` one-thread processes
    (:func:`prefeat.threads.resolve_n_jobs`; stopped after)."""
    if scheduler != "local":
        yield scheduler
        return
    from distributed import LocalCluster

    workers = resolve_n_jobs(n_jobs)
    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def on_dask(client, compute, chunks):
    """``compute`` of each chunk on the cluster, yielded in chunk order as soon as each is ready."""
    futures = client.map(compute, chunks, pure=False)
    for future in futures:
        yield future.result()
        future.release()


class ArenaFeaturizer(TransformerMixin, BaseEstimator):
    """Features of the prompt, answer A and answer B, with A-vs-B comparisons.

    The first seven parameters are those of :class:`~prefeat.features.settings.FeaturizerSettings`, with its
    defaults (``ArenaFeaturizer.from_settings`` builds one from a settings object):

    families : preset name (``"cheap"``, ``"fast"``, ``"all"``), list of family names, or None (``"all"``).
    embedding_model : ``"minilm"`` (bundled), ``"minilm-static"``, or a sentence-transformers path.
    embedding_max_length : truncate embedding inputs to this many tokens (None: the model's own limit).
    embedding_int8 : dynamic int8 quantization of a transformer embedding model (faster, but on MiniLM its
        cosine to the fp32 vectors is 0.93-0.96, below the 0.98 bar: see BENCHMARKS.md).
    embedding_components : size of the projection of each answer's vector, learned in ``fit`` (0: none).
    prompt_topics : number of prompt topics, clusters learned in ``fit`` (0: none).
    batch_size : texts per embedding batch, and per progress step for the other families.
    n_jobs : cores to compute on: processes for the text families (joblib), torch's threads for the
        embedding model, the OpenMP and BLAS pools of what the families learn; None is the current
        :func:`prefeat.threads.limited_threads` count, else every core (-1). It changes no value.
    cache_dir : folder of the on-disk cache; None uses ``$PREFEAT_CACHE`` or ``~/.cache/prefeat``;
        False turns caching off.
    show_progress : tqdm bars for long work.
    scheduler : None computes here; ``"local"`` starts a Dask LocalCluster of ``n_jobs`` worker processes;
        an address (``"tcp://host:8786"``) uses that Dask scheduler. With a scheduler, every family's
        missing sides go to the workers partition by partition (the same partitions as here, so the
        same numbers); the cache stays in this process. Workers need prefeat installed and, for a
        static embedding model, the same cache folder or one they can distil into.
    """

    def __init__(
        self,
        families=None,
        embedding_model=DEFAULTS.embedding_model,
        embedding_max_length=DEFAULTS.embedding_max_length,
        embedding_int8=DEFAULTS.embedding_int8,
        embedding_components=DEFAULTS.embedding_components,
        prompt_topics=DEFAULTS.prompt_topics,
        batch_size=DEFAULTS.batch_size,
        n_jobs=None,
        cache_dir=None,
        show_progress=True,
        scheduler=None,
    ):
        self.families = families
        self.embedding_model = embedding_model
        self.embedding_max_length = embedding_max_length
        self.embedding_int8 = embedding_int8
        self.embedding_components = embedding_components
        self.prompt_topics = prompt_topics
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.cache_dir = cache_dir
        self.show_progress = show_progress
        self.scheduler = scheduler

    @classmethod
    def from_settings(cls, settings: FeaturizerSettings, **kwargs) -> ArenaFeaturizer:
        return cls(**settings.to_dict(), **kwargs)

    def _cache_root(self):
        return cache_root(self.cache_dir)

    def fit(self, X=None, y=None):
        """Resolve the settings and the output columns, and learn what families learn from texts.

        Only the embedding family learns (its projection and prompt topics, from the texts of ``X``,
        never from ``y``); without it, or with both turned off, ``X`` may be None.
        """
        learners = self._resolve_settings()
        if learners and X is None:
            raise ValueError(f"the families {learners} learn from the battles' texts: fit needs the battles")
        self.learned_ = {}
        if learners:
            sides = battle_sides(X)
            with limited_threads(self.n_jobs), self._dask_client() as client:
                for name in learners:
                    family = self.settings_.family(name, self._cache_root())
                    rows_by_hash = self._side_rows(family, sides.unique, client)
                    # distinct texts in hash order: what is learned depends on the set of texts, not
                    # on row order or on which answer is A, so fitting on swapped battles learns the same
                    prompts = rows_by_hash(sorted(set(sides.hashes["prompt"])))
                    answers = rows_by_hash(sorted({*sides.hashes["response_a"], *sides.hashes["response_b"]}))
                    self.learned_[name] = family.learn(prompts, answers)
        return self

    def with_learned(self, learned: dict[str, dict[str, np.ndarray]]) -> ArenaFeaturizer:
        """This featurizer, fitted with what an earlier ``fit`` learned (a saved pipeline's), without data."""
        learners = self._resolve_settings()
        missing = [name for name in learners if name not in learned]
        if missing:
            raise ValueError(f"nothing learned is given for the families {missing}")
        self.learned_ = {name: learned[name] for name in learners}
        return self

    def _resolve_settings(self) -> list[str]:
        """Set the settings and output columns; return the families that learn from texts."""
        self.settings_ = FeaturizerSettings(**{f.name: getattr(self, f.name) for f in fields(FeaturizerSettings)})
        self.family_names_ = self.settings_.families
        self.feature_names_out_ = np.array(self.settings_.columns(), dtype=object)
        return [name for name in self.family_names_ if self.settings_.family(name).learn is not None]

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "settings_")
        sides = battle_sides(X)
        blocks = []
        with limited_threads(self.n_jobs), self._dask_client() as client:
            for name in self.family_names_:
                family = self.settings_.family(name, self._cache_root())
                if family.unit == "battle":
                    rows_by_hash = self._side_rows(family, sides.battles, client)
                    blocks.append(family.assemble_battles(rows_by_hash(sides.battle_hashes)))
                    continue
                rows_by_hash = self._side_rows(family, sides.unique, client)
                prompt, side_a, side_b = (rows_by_hash(sides.hashes[column]) for column in SIDE_COLUMNS)
                blocks.append(family.assemble(prompt, side_a, side_b, self.learned_.get(name)))
        return np.hstack(blocks) if blocks else np.empty((len(X), 0))

    def fit_transform(self, X, y=None):
        """``fit(X).transform(X)``, on one Dask cluster for both: a ``"local"`` one starts (and its workers
        import torch and load the embedding model) once, not twice."""
        with self._dask_client() as client:
            self._open_client = client
            try:
                return self.fit(X, y).transform(X)
            finally:
                del self._open_client

    @contextmanager
    def _dask_client(self):
        """A Dask client for ``scheduler`` (the one ``fit_transform`` holds open), or None without one."""
        if self.scheduler is None or getattr(self, "_open_client", None) is not None:
            yield getattr(self, "_open_client", None)
            return
        from distributed import Client

        with dask_scheduler(self.scheduler, self.n_jobs) as address, Client(address) as client:
            yield client

    def _side_rows(self, family: FeatureFamily, unique: dict[str, tuple[str, ...]], client=None):
        """A lookup from side hashes to the family's rows, computing (and caching) what is missing."""
        root = self._cache_root()
        cache = SideCache(root, family.cache_key) if root is not None else None
        todo = cache.missing(unique) if cache is not None else list(unique)
        computed = self._compute(family, [unique[h] for h in todo], client)
        if cache is not None:
            cache.put(todo, computed)
            return cache.get
        index = {h: i for i, h in enumerate(todo)}
        return lambda hashes: computed[[index[h] for h in hashes]]

    def _compute(self, family: FeatureFamily, sides: list[tuple[str, ...]], client=None) -> np.ndarray:
        """The family's rows for ``sides``, in chunks: on Dask workers when there is a client, else here
        (text families fanned out over ``n_jobs`` processes)."""
        step = max(self.batch_size * 16, 256)
        chunks = [sides[start : start + step] for start in range(0, len(sides), step)]
        unit = "battle" if family.unit == "battle" else "text"  # a battle family computes (prompt, A, B) at once
        progress = {
            "total": len(sides),
            "desc": f"{family.name} ({len(sides)} {unit}s)",
            "unit": unit,
            "disable": not self.show_progress or len(chunks) <= 1,
        }
        if client is not None and chunks:
            results = on_dask(client, family.compute, chunks)
        elif resolve_n_jobs(self.n_jobs) == 1 or family.cost == "expensive" or len(chunks) < MIN_CHUNKS_TO_FAN_OUT:
            results = (family.compute(chunk) for chunk in chunks)  # the embedding model: torch's threads here
        else:
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=resolve_n_jobs(self.n_jobs), return_as="generator")
            results = parallel(delayed(family.compute)(chunk) for chunk in chunks)
        rows = []
        with tqdm(**progress) as bar:  # tqdm shows elapsed time and an estimate of what is left
            for block in results:
                rows.append(block)
                bar.update(len(block))
        return np.vstack(rows) if rows else np.empty((0, 0))
