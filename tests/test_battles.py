import json

import pandas as pd
import pytest
from conftest import SHARED_DATA, make_battles, needs_shared_data

from prefeat import BattleDataError, load_battles, swap_battles
from prefeat.data.battles import repair_text


def write(tmp_path, frame, name="train.csv"):
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


def test_competition_train_file(battles_csv):
    battles = load_battles(battles_csv)
    raw = pd.read_csv(battles_csv)
    assert list(battles.columns[:6]) == ["id", "prompt", "response_a", "response_b", "label", "both_bad"]
    assert battles["id"].tolist() == raw["id"].astype(str).tolist()
    expected = raw[["winner_model_a", "winner_model_b", "winner_tie"]].to_numpy().argmax(axis=1)
    assert battles["label"].tolist() == expected.tolist()
    assert battles["response_a"][0] == json.loads(raw["response_a"][0])


def test_test_file_has_missing_labels(tmp_path):
    raw = make_battles(4)[["id", "prompt", "response_a", "response_b"]]
    battles = load_battles(write(tmp_path, raw, "test.csv"))
    assert battles["label"].isna().all()
    assert len(battles) == 4


def test_null_turns_are_empty_text_and_turns_are_kept(tmp_path):
    raw = make_battles(2)
    raw.loc[0, "response_a"] = "[null]"
    raw.loc[1, "prompt"] = json.dumps(["first", None, "third"])
    battles = load_battles(write(tmp_path, raw))
    assert battles["response_a"][0] == [""]
    assert battles["prompt"][1] == ["first", "", "third"]


def test_lone_surrogates_are_repaired(tmp_path):
    raw = make_battles(1)
    raw.loc[0, "response_b"] = '["broken \\ud83d emoji and a pair \\ud83d\\ude00"]'
    battles = load_battles(write(tmp_path, raw))
    text = battles["response_b"][0][0]
    assert text == "broken \ufffd emoji and a pair \U0001f600"
    text.encode("utf-8")
    assert repair_text("plain") == "plain"


def test_winner_column_variant(tmp_path):
    raw = make_battles(3).drop(columns=["winner_model_a", "winner_model_b", "winner_tie"])
    raw["winner_model"] = ["a", "tie", "b"]
    assert load_battles(write(tmp_path, raw))["label"].tolist() == [0, 2, 1]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_lmarena_export_with_both_bad(tmp_path, suffix):
    conversation_a = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "more"},
        {"role": "assistant", "content": None},
    ]
    conversation_b = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey"}]
    raw = pd.DataFrame(
        {
            "question_id": ["q1", "q2"],
            "model_a": ["m1", "m2"],
            "model_b": ["m3", "m4"],
            "conversation_a": [conversation_a, conversation_b],
            "conversation_b": [conversation_b, conversation_a],
            "winner": ["model_b", "both_bad"],
        }
    )
    if suffix == "csv":
        raw["conversation_a"] = raw["conversation_a"].map(json.dumps)
        raw["conversation_b"] = raw["conversation_b"].map(json.dumps)
    battles = load_battles(write(tmp_path, raw, f"arena.{suffix}"))
    assert battles["id"].tolist() == ["q1", "q2"]
    assert battles["prompt"][0] == ["hi", "more"]
    assert battles["response_a"][0] == ["hello", ""]
    assert battles["response_b"][0] == ["hey"]
    assert battles["label"].tolist() == [1, 2]
    assert battles["both_bad"].tolist() == [False, True]


@pytest.mark.parametrize(
    ("corrupt", "fragments"),
    [
        (lambda raw: raw.drop(columns=["response_b"]), ["column 'response_b'", "missing column"]),
        (lambda raw: raw.assign(prompt=["[unclosed", *raw["prompt"].tolist()[1:]]), ["row id=1000", "column 'prompt'"]),
        (lambda raw: raw.assign(id=[1000, 1000, *raw["id"].tolist()[2:]]), ["row id=1000", "column 'id'", "duplicate"]),
        (lambda raw: raw.assign(winner_tie=[1, *raw["winner_tie"].tolist()[1:]]), ["row id=1000", "sum to one"]),
    ],
)
def test_malformed_input_names_file_row_and_column(tmp_path, corrupt, fragments):
    raw = make_battles(4)
    raw.loc[0, ["winner_model_a", "winner_model_b", "winner_tie"]] = [1, 0, 0]
    path = write(tmp_path, corrupt(raw))
    with pytest.raises(BattleDataError) as error:
        load_battles(path)
    message = str(error.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_swap_battles_flips_labels(battles_csv):
    battles = load_battles(battles_csv)
    swapped = swap_battles(battles)
    assert swapped["response_a"].tolist() == battles["response_b"].tolist()
    assert swapped["label"].tolist() == [{0: 1, 1: 0, 2: 2}[v] for v in battles["label"]]


@needs_shared_data
@pytest.mark.parametrize("path", sorted(SHARED_DATA.glob("*/*.csv")), ids=lambda p: p.name)
def test_every_shared_file_loads_without_losing_rows(path):
    battles = load_battles(path)
    assert len(battles) == len(pd.read_csv(path))
    assert battles["label"].notna().all()
    assert all(isinstance(turn, str) for side in battles["response_a"] for turn in side)


def test_a_file_that_is_not_utf8_is_refused_with_file_and_line(tmp_path):
    path = tmp_path / "latin1.csv"
    text = (
        'id,prompt,response_a,response_b\n1,"[""hi""]","[""ok""]","[""no""]"\n2,"[""caf\u00e9""]","[""a""]","[""b""]"\n'
    )
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(BattleDataError, match=r"latin1.csv: not UTF-8 text: byte b'\\xe9' at line 3"):
        load_battles(path)
