import numpy as np
import pytest
from conftest import cache_holding_static_model

from prefeat.features.families import embedding
from prefeat.features.registry import embedding_family


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
    family = embedding_family(components=0, topics=0)
    assert family.columns() == [
        "embedding__cos_prompt__a",
        "embedding__cos_prompt__b",
        "embedding__cos_prompt__diff",
        "embedding__cos_prompt__normdiff",
        "embedding__cos_ab__pair",
    ]
    prompt = np.array([[1.0, 0.0]])
    block = family.assemble(prompt, np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), None)
    assert block[0].tolist() == pytest.approx([1.0, 0.0, 1.0, 0.5, 0.0])


@pytest.fixture(scope="module")
def static_cache(tmp_path_factory, distilled_static_model):
    """A cache folder holding the static model that conftest distilled, offline, once for the test session
    (distilling it again here cost a minute)."""
    return cache_holding_static_model(tmp_path_factory.mktemp("static"), distilled_static_model)


def test_the_static_model_embeds_text_at_unit_norm_and_empty_text_as_zero(static_cache):
    """The model was distilled by conftest under ``HF_HUB_OFFLINE=1``, which fails on any hub access."""
    vectors = embedding.embed([("hello world",), ("",)], model=embedding.STATIC_MODEL, cache_dir=str(static_cache))
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0, abs=1e-3)
    assert not np.any(vectors[1])


def test_static_model_vectors_do_not_depend_on_the_batch(static_cache):
    sides = [("a short answer",), ("a much longer answer, with more words in it than the first",), ("",)]
    vectors = embedding.embed(sides, model=embedding.STATIC_MODEL, cache_dir=str(static_cache))
    encoder = embedding.load_encoder(embedding.STATIC_MODEL, str(static_cache))
    one_by_one = np.vstack([encoder.encode([text], normalize_embeddings=True) for (text,) in sides])
    np.testing.assert_array_equal(vectors, np.nan_to_num(one_by_one))


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


def test_learned_projection_and_topics_on_known_vectors():
    answers = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.1, 0.0], [0.0, -0.1, 0.0]])
    prompts = np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.0, 0.0, 1.0], [0.0, 0.1, 0.9]])
    learned = embedding.learn(prompts, answers, components=2, topics=2)
    # the first component is the axis of largest spread (x), the second y; the mean is 0
    np.testing.assert_allclose(np.abs(learned["basis"]), [[1, 0, 0], [0, 1, 0]], atol=1e-12)
    np.testing.assert_allclose(np.abs(embedding.project(answers, learned)[:, 0]), [1, 1, 0, 0], atol=1e-12)
    membership = embedding.topic_membership(prompts, learned)
    assert membership.sum(axis=1).tolist() == [1, 1, 1, 1]
    assert (membership[0] == membership[1]).all() and (membership[2] == membership[3]).all()
    assert not (membership[0] == membership[2]).all()


def test_fewer_texts_than_components_or_topics_keep_the_columns():
    learned = embedding.learn(np.ones((1, 3)), np.eye(3)[:2], components=4, topics=3)
    assert learned["basis"].shape == (4, 3) and not learned["basis"][2:].any()
    assert embedding.project(np.eye(3), learned).shape == (3, 4)
    assert embedding.topic_membership(np.eye(3), learned)[:, 1:].sum() == 0  # one prompt: one topic


def test_projection_and_topic_columns_and_their_swap():
    family = embedding_family(components=2, topics=3)
    assert family.columns()[:3] == [
        "embedding__topic0__prompt",
        "embedding__topic1__prompt",
        "embedding__topic2__prompt",
    ]
    assert "embedding__proj1__diff" in family.columns()
    rng = np.random.default_rng(0)
    prompt, side_a, side_b = (rng.normal(size=(6, 4)) for _ in range(3))
    learned = embedding.learn(prompt, np.vstack([side_a, side_b]), 2, 3)
    straight = dict(zip(family.columns(), family.assemble(prompt, side_a, side_b, learned).T, strict=True))
    swapped = dict(zip(family.columns(), family.assemble(prompt, side_b, side_a, learned).T, strict=True))
    np.testing.assert_array_equal(straight["embedding__proj1__a"], swapped["embedding__proj1__b"])
    np.testing.assert_array_equal(straight["embedding__proj0__diff"], -swapped["embedding__proj0__diff"])
    np.testing.assert_array_equal(straight["embedding__topic2__prompt"], swapped["embedding__topic2__prompt"])
    # the projection of A minus B is the difference of the projections
    np.testing.assert_allclose(
        straight["embedding__proj0__diff"], (side_a - side_b) @ learned["basis"][0], rtol=1e-10, atol=1e-12
    )


def test_the_static_model_is_made_once_and_a_half_made_one_is_remade(tmp_path, monkeypatch):
    """distilled_static_path goes through make_once (its race and crash cases: test_paths.py)."""
    builds = []

    def fake_distill(folder):
        builds.append(folder)
        for name in embedding.STATIC_MODEL_FILES:
            (folder / name).write_text(name)

    monkeypatch.setattr(embedding, "distill_static_model", fake_distill)
    target = embedding.static_model_folder(tmp_path)
    target.mkdir(parents=True)
    (target / "model.safetensors").write_text("weights, and then the process was killed")
    assert embedding.distilled_static_path(tmp_path) == target
    assert len(builds) == 1 and builds[0] != target  # remade, under a temporary name
    assert embedding.static_model_complete(target) and (target / "model.safetensors").read_text() == "model.safetensors"
    embedding.distilled_static_path(tmp_path)
    assert len(builds) == 1
    assert sorted(p.name for p in target.parent.iterdir()) == [f".{target.name}.lock", target.name]
