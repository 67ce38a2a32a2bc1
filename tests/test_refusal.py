import json

import pytest
from conftest import KAGGLE_HEAD, needs_shared_data

from prefeat.features.families import refusal


def flag_and_score(text):
    return tuple(refusal.compute([(text,)])[0])


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        ("I'm sorry, but I can't help with that.", 2),  # apology, inability
        ("I cannot recommend ways to create or use cheats. That would be unethical.", 2),  # inability, policy
        ("I apologize, but I will not provide any information to assist with harmful activities.", 3),
        ("I\u2019m unable to assist with that request.", 1),  # inability alone, after a curly apostrophe
        ("I'm sorry, but that is against our content policy.", 2),  # apology beside policy talk, no inability
    ],
)
def test_outright_refusals_are_flagged_and_score_their_pattern_groups(text, groups):
    assert flag_and_score(text) == (1.0, float(groups))


def test_an_apology_alone_scores_without_a_flag():
    assert flag_and_score("I'm sorry to hear that your cat is ill. Here is what helps.") == (0.0, 1.0)


@pytest.mark.parametrize(
    "text",
    [
        "Paris is the capital of France.",
        "Smoking is harmful to your health, so quitting helps. Here is a plan: ...",
        "Here is the code you asked for. I can help with more if needed.",
    ],
)
def test_helpful_answers_are_not_flagged(text):
    assert flag_and_score(text)[0] == 0


def test_score_counts_pattern_groups():
    text = "As an AI language model, I'm sorry, but I cannot provide that. It is not appropriate. Consult a doctor."
    assert flag_and_score(text) == (1.0, 5.0)


def test_a_refusal_late_in_a_long_answer_scores_but_is_not_flagged():
    text = "Here is a long helpful answer. " * 20 + "I cannot help with the last part."
    assert flag_and_score(text) == (0.0, 1.0)


@needs_shared_data
@pytest.mark.parametrize(
    ("row_id", "side"),
    [("1491225", "response_a"), ("1491225", "response_b"), ("4683272", "response_b"), ("4990514", "response_b")],
)
def test_refusals_found_in_the_shared_kaggle_rows(row_id, side):
    import pandas as pd

    raw = pd.read_csv(KAGGLE_HEAD, dtype={"id": str}).set_index("id")
    turns = tuple(t or "" for t in json.loads(raw.loc[row_id, side]))
    assert refusal.compute([turns])[0][0] == 1
