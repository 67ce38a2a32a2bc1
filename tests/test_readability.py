import numpy as np
import pytest
import textstat

from prefeat.features.families import readability

TEXTS = [
    "The cat sat on the mat. It was a sunny day.",
    "Photosynthesis converts electromagnetic radiation into chemical energy, sustaining heterotrophic organisms.",
    "Hello, world! Don't panic; it's only a test.\n\nA second paragraph follows here.",
]


def scores(text):
    return dict(zip(readability.METRICS, readability.compute([(text,)])[0], strict=True))


@pytest.mark.parametrize("text", TEXTS)
def test_scores_equal_textstat(text):
    values = scores(text)
    assert values["flesch_reading_ease"] == pytest.approx(textstat.flesch_reading_ease(text), abs=1e-9)
    assert values["flesch_kincaid_grade"] == pytest.approx(textstat.flesch_kincaid_grade(text), abs=1e-9)
    assert values["syllables_per_word"] == pytest.approx(textstat.avg_syllables_per_word(text), abs=1e-9)
    assert values["automated_readability_index"] == pytest.approx(textstat.automated_readability_index(text))
    assert values["coleman_liau_index"] == pytest.approx(textstat.coleman_liau_index(text))
    assert values["lix"] == pytest.approx(textstat.lix(text))


def test_known_values_on_a_simple_text():
    values = scores(TEXTS[0])
    # 11 words, 2 sentences, 12 syllables ("sunny" has two): 206.835 - 1.015 * 5.5 - 84.6 * 12 / 11
    assert values["syllables_per_word"] == pytest.approx(12 / 11)
    assert values["flesch_reading_ease"] == pytest.approx(206.835 - 1.015 * 5.5 - 84.6 * 12 / 11)
    assert values["type_token_ratio"] == pytest.approx(10 / 11)


def test_harder_text_reads_harder():
    easy, hard = scores(TEXTS[0]), scores(TEXTS[1])
    assert hard["flesch_reading_ease"] < easy["flesch_reading_ease"]
    assert hard["flesch_kincaid_grade"] > easy["flesch_kincaid_grade"]


def test_empty_text_is_zero_not_an_error():
    assert np.all(readability.compute([("",), ("   ",)]) == 0)


def test_cmudict_is_written_where_nltk_looks_when_it_is_missing(tmp_path, monkeypatch):
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "elsewhere")])
    monkeypatch.setattr(readability.sys, "prefix", str(tmp_path / "prefix"))
    with pytest.raises(LookupError):
        nltk.data.find("corpora/cmudict")
    readability.ensure_cmudict()  # the branch that would otherwise call nltk.download, offline
    written = tmp_path / "prefix" / "nltk_data" / "corpora" / "cmudict" / "cmudict"
    assert written.exists()
    assert "\ncat 1 K AE1 T\n" in written.read_text()
    assert nltk.data.find("corpora/cmudict")


def test_cmudict_conversion_to_nltk_format():
    lines = ["abc AE1 B", "abc(2) EY1 B IY1 # comment", ";;; not an entry"]
    assert readability.cmudict_in_nltk_format(lines) == "abc 1 AE1 B\nabc 2 EY1 B IY1\n"
