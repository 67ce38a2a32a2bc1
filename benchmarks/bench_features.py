"""Feature speed on the 1,000 shared Kaggle rows tiled to the competition's 57,477 rows.

Each family runs in a fresh process over every side of every row (no de-duplication, no cache),
which is what 57k distinct battles would cost; peak memory is that process's growth. Embedding
models are timed on real, distinct texts. Then the featurizer itself: a cold run (it computes
each distinct side once) and a cached rerun of all five families.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import tempfile
import time

import numpy as np
from common import KAGGLE_HEAD, table, tile, write_section

from prefeat import ArenaFeaturizer, load_battles
from prefeat.data.text import as_sides
from prefeat.features.families import embedding
from prefeat.features.featurizer import SIDE_COLUMNS
from prefeat.features.registry import FAMILIES

PER_TEXT = ("length", "readability", "formatting", "refusal")
EMBEDDING_VARIANTS = (
    ("minilm", None, False),
    ("minilm", 128, False),
    ("minilm", 64, False),
    ("minilm", None, True),
)


def all_sides(battles) -> list[tuple[str, ...]]:
    return [side for column in SIDE_COLUMNS for side in as_sides(battles[column])]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_families(names, n_rows, queue) -> None:
    """Seconds and memory growth for ``names`` over the tiled sides, or the distinct real ones (n_rows=0)."""
    real = load_battles(KAGGLE_HEAD)
    sides = all_sides(tile(real, n_rows)) if n_rows else list(dict.fromkeys(all_sides(real)))
    before = peak_rss_mb()
    started = time.perf_counter()
    for name in names:
        FAMILIES[name].compute(sides)
    queue.put((time.perf_counter() - started, peak_rss_mb() - before))


def in_fresh_process(names, n_rows) -> tuple[float, float]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=time_families, args=(names, n_rows, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def time_embedding(sides, model, max_length, int8, reference=None):
    embedding.embed(sides[:8], model, max_length=max_length, int8=int8)  # load and warm up
    started = time.perf_counter()
    vectors = embedding.embed(sides, model, max_length=max_length, int8=int8)
    seconds = time.perf_counter() - started
    cosine = None if reference is None else embedding.rowwise_cosine(vectors, reference)
    return len(sides) / seconds, vectors, cosine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=57_477)
    parser.add_argument("--minilm-sample", type=int, default=600, help="distinct sides timed per MiniLM variant")
    args = parser.parse_args()
    command = f"python benchmarks/bench_features.py --rows {args.rows} --minilm-sample {args.minilm_sample}"
    n_texts = 3 * args.rows

    rows = []
    for name in PER_TEXT:
        seconds, memory = in_fresh_process([name], args.rows)
        rows.append([name, FAMILIES[name].cost, seconds, args.rows / seconds, n_texts / seconds, memory])
        print(rows[-1], flush=True)
    seconds, memory = in_fresh_process(list(PER_TEXT), args.rows)
    rows.append(["all four together", "", seconds, args.rows / seconds, n_texts / seconds, memory])
    n_distinct = len(dict.fromkeys(all_sides(load_battles(KAGGLE_HEAD))))
    for names, label in ((["readability"], "readability"), (list(PER_TEXT), "all four together")):
        seconds, memory = in_fresh_process(names, 0)
        rows.append(
            [
                f"{label}, {n_distinct:,} distinct real sides",
                "",
                seconds,
                n_distinct / 3 / seconds,
                n_distinct / seconds,
                memory,
            ]
        )
    print(rows[-3:], flush=True)
    family_table = table(["family", "cost", "seconds", "rows/s", "texts/s", "peak MB"], rows)

    real = load_battles(KAGGLE_HEAD)
    distinct = list(dict.fromkeys(all_sides(real)))
    tiled_sides = all_sides(tile(real, args.rows))
    embedding_rows = []
    rate, _, _ = time_embedding(tiled_sides, embedding.STATIC_MODEL, None, False)
    embedding_rows.append(["minilm-static (model2vec, all tiled texts)", rate, n_texts / rate / 60, "—", "—"])
    print(embedding_rows[-1], flush=True)
    sample = [distinct[i] for i in np.random.default_rng(0).choice(len(distinct), args.minilm_sample, replace=False)]
    reference = None
    for model, max_length, int8 in EMBEDDING_VARIANTS:
        rate, vectors, cosine = time_embedding(sample, model, max_length, int8, reference)
        reference = vectors if reference is None else reference
        label = f"{model} max_length={max_length or 256}{' int8' if int8 else ''}"
        mean_cos = "1 (reference)" if cosine is None else f"{cosine.mean():.4f}"
        min_cos = "1 (reference)" if cosine is None else f"{cosine.min():.4f}"
        embedding_rows.append([label, rate, n_texts / rate / 60, mean_cos, min_cos])
        print(embedding_rows[-1], flush=True)
    embed_table = table(
        ["model", "texts/s", f"minutes for {n_texts:,} texts", "mean cosine to fp32", "min cosine"], embedding_rows
    )

    tiled = tile(real, args.rows)
    timings = []
    distinct_tiled = tiled.copy()
    for column in SIDE_COLUMNS:  # a per-row suffix makes every side distinct: no de-duplication helps
        distinct_tiled[column] = [
            [*turns[:-1], f"{turns[-1] if turns else ''} #{i}"] for i, turns in enumerate(tiled[column])
        ]
    for n_jobs in (1, 2):
        featurizer = ArenaFeaturizer(families="fast", cache_dir=False, n_jobs=n_jobs, show_progress=False)
        started = time.perf_counter()
        featurizer.fit_transform(distinct_tiled)
        seconds = time.perf_counter() - started
        timings.append([f"fast preset (all but embedding), every side distinct, no cache, n_jobs={n_jobs}", 0, seconds])
        print(timings[-1], flush=True)
    with tempfile.TemporaryDirectory() as cache:
        for label, kwargs in (
            ("cold, fast preset + static embedding", {"embedding_model": embedding.STATIC_MODEL}),
            ("cold, all five families, MiniLM (fp32, 256)", {}),
            ("cached rerun, all five families, MiniLM", {}),
        ):
            featurizer = ArenaFeaturizer(cache_dir=cache, show_progress=False, **kwargs)
            started = time.perf_counter()
            features = featurizer.set_output(transform="pandas").fit_transform(tiled)
            timings.append([label, features.shape[1], time.perf_counter() - started])
            print(timings[-1], flush=True)
    timings = [[label, columns or "", seconds, args.rows / seconds] for label, columns, seconds in timings]
    featurizer_table = table(["featurizer run on the tiled rows", "columns", "seconds", "rows/s"], timings)

    body = f"""## Feature speed ({args.rows:,} rows = the 1,000 shared Kaggle rows tiled; {n_texts:,} sides)

Per family, in a fresh process, over every side of every row (no de-duplication, no cache):

{family_table}

Readability caches syllables per distinct word, and tiled rows repeat their vocabulary: the rows
on distinct real sides (rows/s counted as three sides a battle) show the cold rate, which is
what 57k distinct battles approach at their start.

Embedding models (`minilm-static` timed over all tiled texts; MiniLM variants over
{args.minilm_sample} distinct real sides, sentence-transformers sorting each call by length):

{embed_table}

The featurizer end to end. With every side made distinct it computes all {n_texts:,} sides; on the
plain tiled rows it computes each of the 2,981 distinct sides once, then reads the cache:

{featurizer_table}
"""
    write_section("features", body, command)


if __name__ == "__main__":
    main()
