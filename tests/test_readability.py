import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import textstat

from prefeat.features.families import readability

REPO = Path(__file__).resolve().parents[1]

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


def test_cmudict_is_written_into_the_prefeat_cache_and_put_first_on_nltks_path(tmp_path, monkeypatch):
    import nltk

    broken = tmp_path / "elsewhere"
    (broken / "corpora" / "cmudict").mkdir(parents=True)  # an empty folder, as the old race left it
    monkeypatch.setattr(nltk.data, "path", [str(broken)])
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    monkeypatch.setenv("PREFEAT_CACHE", str(tmp_path / "cache"))
    corpus = readability.ensure_cmudict()  # the branch that would otherwise call nltk.download, offline
    written = tmp_path / "cache" / "nltk_data" / "corpora" / "cmudict" / "cmudict"
    assert corpus == written.parent
    assert "\ncat 1 K AE1 T\n" in written.read_text()
    assert nltk.data.path[0] == str(tmp_path / "cache" / "nltk_data")
    assert str(nltk.data.find("corpora/cmudict")) == str(written.parent)  # found before the broken one
    assert not (tmp_path / "prefix").exists()  # nothing written into sys.prefix
    readability.ensure_cmudict()
    assert nltk.data.path.count(str(tmp_path / "cache" / "nltk_data")) == 1


@pytest.mark.parametrize("leftover", ["empty", "partial"])
def test_a_cmudict_folder_a_crash_left_half_made_is_remade(tmp_path, monkeypatch, leftover):
    import nltk

    monkeypatch.setattr(nltk.data, "path", [])
    monkeypatch.setenv("PREFEAT_CACHE", str(tmp_path))
    corpus = tmp_path / "nltk_data" / "corpora" / "cmudict"
    corpus.mkdir(parents=True)
    if leftover == "partial":
        (corpus / "cmudict").write_text("a 1 AH0\naardvark 1 AA1 R D V AA2")  # cut short mid-line
    assert not readability.cmudict_complete(corpus)
    readability.ensure_cmudict()
    assert readability.cmudict_complete(corpus)
    assert len((corpus / "cmudict").read_text().splitlines()) > 100_000


TEXT = TEXTS[1]

# a fresh interpreter: it says it is ready, waits for the `go` file, then scores a text; nltk.download fails
SCORER = f"""
import json, sys, time
from pathlib import Path

import nltk

def no_download(*args, **kwargs):
    raise AssertionError("nltk.download was called")

nltk.download = no_download
import textstat
from prefeat.features.families import readability

go, ready = map(Path, sys.argv[1:3])
ready.touch()
while not go.exists():
    time.sleep(0.005)
values = readability.compute([({TEXT!r},)])[0].tolist()
textstat_ease = textstat.flesch_reading_ease({TEXT!r})
print(json.dumps({{"values": values, "textstat": textstat_ease, "root": str(nltk.corpus.cmudict.root)}}))
"""


def fresh_environment(tmp_path):
    """A prefeat cache with nothing in it, a home without nltk_data, and NLTK_DATA holding only an empty,
    crash-left ``cmudict`` folder: a process that reads any dictionary but the one prefeat makes fails."""
    broken = tmp_path / "nltk_data_elsewhere"
    (broken / "corpora" / "cmudict").mkdir(parents=True)
    (tmp_path / "home").mkdir()
    return os.environ | {
        "PREFEAT_CACHE": str(tmp_path / "cache"),
        "HOME": str(tmp_path / "home"),
        "NLTK_DATA": str(broken),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }


# the case: joblib's worker processes (fresh interpreters) score first, their parent never did
WORKERS = f"""
import json, sys, time
from pathlib import Path

from joblib import Parallel, delayed

def score(text):
    import nltk

    from prefeat.features.families import readability

    return readability.compute([(text,)])[0].tolist(), str(nltk.corpus.cmudict.root)

go, ready = map(Path, sys.argv[1:3])
ready.touch()
while not go.exists():
    time.sleep(0.005)
print(json.dumps(Parallel(n_jobs=2)(delayed(score)(text) for text in {TEXTS!r} * 2)))
"""


def test_processes_and_joblib_workers_starting_at_once_on_a_fresh_cache_all_score_alike(tmp_path):
    """Three interpreters score a text and a fourth fans texts out to two joblib workers, all at once."""
    environment = fresh_environment(tmp_path)
    go, ready = tmp_path / "go", [tmp_path / f"ready{i}" for i in range(4)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(go), str(flag)], stdout=subprocess.PIPE, text=True, env=environment
        )
        for script, flag in zip([SCORER] * 3 + [WORKERS], ready, strict=True)
    ]
    deadline = time.monotonic() + 300
    while not all(flag.exists() for flag in ready):
        assert time.monotonic() < deadline and all(process.poll() is None for process in processes)
        time.sleep(0.05)
    go.touch()
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, outputs
    scorers, workers = [json.loads(output) for output in outputs[:3]], json.loads(outputs[3])
    corpus = tmp_path / "cache" / "nltk_data" / "corpora" / "cmudict"
    roots = {result["root"] for result in scorers} | {root for _, root in workers}
    assert roots == {str(corpus)}  # loaded from the prefeat cache, nowhere else
    assert all(result["values"] == scorers[0]["values"] for result in scorers)
    assert scorers[0]["values"][0] == pytest.approx(scorers[0]["textstat"], abs=1e-9)
    assert [row for row, _ in workers] == [list(scores(text).values()) for text in TEXTS * 2]
    assert workers[1][0] == scorers[0]["values"]
    assert sorted(p.name for p in corpus.parent.iterdir()) == [".cmudict.lock", "cmudict"]


def test_cmudict_conversion_to_nltk_format():
    lines = ["abc AE1 B", "abc(2) EY1 B IY1 # comment", ";;; not an entry"]
    assert readability.cmudict_in_nltk_format(lines) == "abc 1 AE1 B\nabc 2 EY1 B IY1\n"
