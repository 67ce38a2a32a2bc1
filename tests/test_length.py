import numpy as np

from prefeat.features.families import length


def metrics_of(*turns):
    return dict(zip(length.METRICS, length.compute([tuple(turns)])[0], strict=True))


def test_known_counts_on_a_small_text():
    values = metrics_of("Hello world. How are you?\n\nFine, thanks!")
    assert values == {
        "chars": 40,
        "words": 7,
        "lines": 2,
        "paragraphs": 2,
        "sentences": 3,
        "turns": 1,
        "tokens": 11,
    }


def test_turns_are_counted_and_sentences_do_not_span_turns():
    values = metrics_of("One", "Two")
    assert values["turns"] == 2
    assert values["sentences"] == 2
    assert values["chars"] == len("One\n\nTwo")


def test_empty_side_is_all_zero_but_its_turn():
    values = metrics_of("")
    assert values["turns"] == 1
    assert all(values[name] == 0 for name in length.METRICS if name != "turns")


def test_decimal_points_do_not_end_sentences():
    assert length.count_sentences("Pi is 3.14 roughly. Yes") == 2


def test_compute_shape_for_no_sides():
    assert length.compute([]).shape == (0, len(length.METRICS))
    assert np.isfinite(length.compute([("x",)])).all()
