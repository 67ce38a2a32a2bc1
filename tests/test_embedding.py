import numpy as np
import pytest

from prefeat.features import embedding
from prefeat.registry import embedding_family


def test_bundled_minilm_embeds_offline_and_ranks_related_text_higher(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    prompt, related, unrelated = embedding.embed(
        [("How do I bake bread?",), ("Mix flour, water and yeast, then bake the dough.",), ("The stock market fell.",)],
        model=embedding.BUNDLED_MODEL,
    )
    assert prompt.shape == (384,)
    assert np.linalg.norm(prompt) == pytest.approx(1.0, abs=1e-5)
    assert prompt @ related > prompt @ unrelated


def test_rowwise_cosine_and_zero_vectors():
    left = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    right = np.array([[1.0, 0.0], [1.0, 0.0], [-1.0, -1.0]])
    assert embedding.rowwise_cosine(left, right).tolist() == pytest.approx([1.0, 0.0, -1.0])


def test_similarities_feed_side_and_pair_columns():
    family = embedding_family()
    assert family.columns() == [
        "embedding__cos_prompt__a",
        "embedding__cos_prompt__b",
        "embedding__cos_prompt__diff",
        "embedding__cos_prompt__normdiff",
        "embedding__cos_ab__pair",
    ]
    prompt = np.array([[1.0, 0.0]])
    block = family.assemble(prompt, np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    assert block[0].tolist() == pytest.approx([1.0, 0.0, 1.0, 0.5, 0.0])


def test_static_model_is_distilled_offline_and_embeds_empty_text_as_zero(tmp_path):
    vectors = embedding.embed([("hello world",), ("",)], model=embedding.STATIC_MODEL, cache_dir=str(tmp_path))
    assert (tmp_path / "models").exists()
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0, abs=1e-3)
    assert not np.any(vectors[1])


def test_any_sentence_transformers_path_works_and_a_missing_one_is_named(tmp_path):
    path = str(embedding.bundled_minilm_path())
    assert embedding.embed([("hi",)], model=path).shape == (1, 384)
    assert embedding.model_signature(path).startswith("path-")
    with pytest.raises(FileNotFoundError, match="never downloaded"):
        embedding.embed([("hi",)], model=str(tmp_path / "nope"))


def test_int8_and_shorter_inputs_stay_faithful_and_are_cached_apart():
    sides = [("How do I bake bread at home with little equipment? " * 3,), ("Mix flour, water, salt and yeast. " * 4,)]
    reference = embedding.embed(sides, model=embedding.BUNDLED_MODEL)
    for options in ({"int8": True}, {"max_length": 16}):
        vectors = embedding.embed(sides, model=embedding.BUNDLED_MODEL, **options)
        cosine = embedding.rowwise_cosine(vectors, reference)
        assert 0.85 < cosine.min() < 0.9999  # changed (the option took effect) but still close
    minilm = embedding.BUNDLED_MODEL
    assert embedding_family(minilm, int8=True).cache_key != embedding_family(minilm).cache_key
    assert len({embedding_family(minilm, max_length=tokens).cache_key for tokens in (None, 64, 128)}) == 3
    assert embedding_family(batch_size=8).cache_key != embedding_family().cache_key
    assert embedding_family().cache_key != embedding_family(minilm).cache_key
