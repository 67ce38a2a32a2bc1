"""The content family: overlap, repetition, script, questions, numbers, URLs, LaTeX and emoji on known texts."""

import numpy as np
import pytest

from prefeat.features.families import content
from prefeat.features.registry import FAMILIES


def metrics(prompt: str, answer_a: str, answer_b: str = "") -> tuple[dict, dict, dict]:
    row = content.compute([((prompt,), (answer_a,), (answer_b,))])[0]
    width = len(content.SIDE_METRICS)
    side = dict(zip(content.SIDE_METRICS, row[:width], strict=True))
    other = dict(zip(content.SIDE_METRICS, row[width : 2 * width], strict=True))
    pair = dict(zip(content.PAIR_METRICS, row[2 * width :], strict=True))
    return side, other, pair


def test_overlap_with_the_prompt():
    side, _, _ = metrics("How do I bake bread", "To bake bread, you need flour")
    # prompt words {how, do, i, bake, bread}: the answer has bake and bread
    assert side["prompt_word_recall"] == pytest.approx(2 / 5)
    # prompt bigrams (how do)(do i)(i bake)(bake bread): only (bake bread)
    assert side["prompt_bigram_recall"] == pytest.approx(1 / 4)
    # answer words {to, bake, bread, you, need, flour}: two from the prompt
    assert side["copied_words"] == pytest.approx(2 / 6)


def test_overlap_of_the_answers_is_symmetric():
    _, _, pair = metrics("q", "the cat sat", "the cat ran")
    assert pair["word_jaccard"] == pytest.approx(2 / 4)  # {the, cat} of {the, cat, sat, ran}
    assert pair["bigram_jaccard"] == pytest.approx(1 / 3)  # (the cat) of (the cat)(cat sat)(cat ran)
    swapped = content.compute([(("q",), ("the cat ran",), ("the cat sat",))])[0]
    straight = content.compute([(("q",), ("the cat sat",), ("the cat ran",))])[0]
    width = len(content.SIDE_METRICS)
    np.testing.assert_array_equal(swapped[:width], straight[width : 2 * width])
    np.testing.assert_array_equal(swapped[2 * width :], straight[2 * width :])


def test_repetition_counts_repeated_word_trigrams():
    assert content.repetition(["a", "b", "c", "a", "b", "c"]) == pytest.approx(1 - 3 / 4)  # abc bca cab abc
    assert content.repetition(["one", "two"]) == 0.0
    side, _, _ = metrics("", "I am sure. " * 4)
    assert side["repetition"] > 0.5


def test_script_mismatch_between_prompt_and_answer():
    same, _, _ = metrics("Wie geht es dir?", "Mir geht es gut.")
    assert same["script_mismatch"] == 0.0
    disjoint, _, _ = metrics("Как дела?", "I am fine.")
    assert disjoint["script_mismatch"] == pytest.approx(1.0)
    half, _, _ = metrics("hello", "hello 你好你好你好")  # 5 Latin and 6 CJK letters of 11
    assert half["script_mismatch"] == pytest.approx(6 / 11)
    no_letters, _, _ = metrics("2 + 2 = ?", "4")
    assert no_letters["script_mismatch"] == 0.0


def test_questions_numbers_urls_latex_and_emoji_are_counted():
    answer = (
        "Do you mean 3.14 or 42? Which one? See https://example.com and www.python.org. "
        "The area is $\\pi r^2$ and $$E = mc^2$$, cost $5 and $6. 🎉🚀"
    )
    side, _, _ = metrics("", answer)
    assert side["questions"] == 2
    assert side["numbers"] == 6  # 3.14, 42, 2, 2, 5, 6
    assert side["urls"] == 2
    assert side["latex"] == 2  # prices are not LaTeX
    assert side["emoji"] == 2


def test_empty_texts_give_zeros_not_errors():
    side, other, pair = metrics("", "", "")
    assert all(value == 0 for value in [*side.values(), *other.values(), *pair.values()])


def test_family_is_cheap_computes_battles_and_declares_its_columns():
    family = FAMILIES["content"]
    assert family.cost == "cheap" and family.unit == "battle"
    assert family.columns()[:4] == [f"content__prompt_word_recall__{role}" for role in ("a", "b", "diff", "normdiff")]
    assert family.columns()[-2:] == ["content__word_jaccard__pair", "content__bigram_jaccard__pair"]
    rows = content.compute([(("how are you",), ("fine, and you?",), ("well",))])
    assert family.assemble_battles(rows).shape == (1, len(family.columns()))
