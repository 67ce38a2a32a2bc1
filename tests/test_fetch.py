import pytest

from prefeat.data.fetch import DataUnavailableError, ensure_train, fetch_train


def test_fetch_copies_a_file_url_with_progress(tmp_path, battles_csv):
    target = tmp_path / "data" / "train.csv"
    fetched = fetch_train(target, url=battles_csv.resolve().as_uri())
    assert fetched == target
    assert target.read_bytes() == battles_csv.read_bytes()
    assert not (tmp_path / "data" / "train.csv.part").exists()


def test_unreachable_source_names_both_ways_and_leaves_nothing(tmp_path):
    target = tmp_path / "data" / "train.csv"
    with pytest.raises(DataUnavailableError) as error:
        fetch_train(target, url=(tmp_path / "absent.csv").as_uri())
    message = str(error.value)
    assert "lmsys/lmsys-arena-human-preference-55k" in message
    assert "kaggle competitions download" in message
    assert not target.exists()
    assert not target.with_name("train.csv.part").exists()


def test_existing_file_is_not_fetched(battles_csv):
    assert ensure_train(battles_csv, url="file:///nowhere") == battles_csv
