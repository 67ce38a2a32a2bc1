"""Character n-gram TF-IDF in numpy: the same as scikit-learn's char_wb TfidfVectorizer, on known texts."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from prefeat.models.ngrams import CharNgramTfidf, key_names, name_keys, read_exactly, text_keys

TEXTS = [
    "The cat sat on the mat.",
    "A cat!  A dog?\nTabs\tand\n\nnewlines, ÉTÉ and café.",
    "I",
    "",
    "Sorry, I can't help with that. I can't.",
    "def f(x):\n    return x ** 2  # square",
    "Привет, мир! 你好，世界",
]


def sklearn_vectorizer(**options) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, **options)


def names_of(text: str) -> list[str]:
    return sorted(key_names(text_keys(text)).tolist())


def test_ngrams_of_a_short_text_are_known():
    assert names_of("Ab c") == sorted([" a", "ab", "b ", " c", "c ", " ab", "ab ", " c ", " ab "])
    assert names_of("") == []
    assert names_of("   \n ") == []


def test_the_ngrams_and_counts_are_scikit_learns():
    analyzer = sklearn_vectorizer().build_analyzer()
    for text in TEXTS:
        assert names_of(text) == sorted(analyzer(text)), text


@pytest.mark.parametrize("options", [{}, {"min_df": 2}])
def test_the_matrix_is_scikit_learns(options):
    ours = CharNgramTfidf(**options).fit(TEXTS)
    theirs = sklearn_vectorizer(**options).fit(TEXTS)
    np.testing.assert_array_equal(ours.get_feature_names_out(), theirs.get_feature_names_out())
    np.testing.assert_allclose(ours.idf_, theirs.idf_)
    np.testing.assert_allclose(ours.transform(TEXTS).toarray(), theirs.transform(TEXTS).toarray(), atol=1e-12)


def test_max_features_keeps_the_most_frequent_in_alphabetical_order():
    # totals: "aa" 7, "aaa" 4, then " a" and "a " 3 each, a tie that the alphabetical first wins
    vectorizer = CharNgramTfidf(max_features=3).fit(["aaaa bb", "aaaa", "aa"])
    assert vectorizer.get_feature_names_out().tolist() == [" a", "aa", "aaa"]
    assert vectorizer.transform(["zz"]).nnz == 0


def test_characters_beyond_16_bits_read_as_the_replacement_character():
    assert names_of("a😀") == names_of("a\ufffd")
    assert names_of("a\0") == names_of("a\ufffd")
    assert read_exactly("café 你好") and not read_exactly("a😀") and not read_exactly("a\0")


def test_names_and_keys_round_trip():
    keys = CharNgramTfidf().fit(TEXTS).ngrams_
    np.testing.assert_array_equal(name_keys(key_names(keys)), keys)


def test_stored_vocabulary_transforms_the_same():
    fitted = CharNgramTfidf(min_df=2).fit(TEXTS)
    loaded = CharNgramTfidf(min_df=2).with_vocabulary(fitted.get_feature_names_out().astype(str), fitted.idf_)
    assert (fitted.transform(TEXTS) != loaded.transform(TEXTS)).nnz == 0


def test_a_vocabulary_left_empty_by_min_df_is_an_error():
    with pytest.raises(ValueError, match="min_df=5"):
        CharNgramTfidf(min_df=5).fit(["abc", "xyz"])


def test_counting_in_chunks_changes_nothing(monkeypatch):
    import prefeat.models.ngrams

    whole = CharNgramTfidf(min_df=2).fit(TEXTS)
    monkeypatch.setattr(prefeat.models.ngrams, "CHUNK_TEXTS", 2)
    chunked = CharNgramTfidf(min_df=2)
    rows = chunked.fit_transform(TEXTS)
    np.testing.assert_array_equal(chunked.ngrams_, whole.ngrams_)
    np.testing.assert_allclose(chunked.idf_, whole.idf_)
    assert (rows != whole.transform(TEXTS)).nnz == 0
    assert (chunked.transform(TEXTS) != rows).nnz == 0
