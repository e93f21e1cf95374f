"""Adding a training example edits one line into the NLU file: comments and layout kept, the result
still the YAML Rasa reads, duplicates and texts that cannot be an example refused."""

import pytest
from ruamel.yaml import YAML

from actions.commerce.errors import Refused
from actions.commerce.nlu_examples import TrainingSet, clean, examples, normalised, with_example

DOCUMENT = """version: "3.1"

# What customers say. Keep one intent per block.
nlu:
  - intent: greet
    examples: |
      - hi
      - hello  there
      # not a comment: Rasa reads this line as text of the block

  - intent: search_product  # product words are decided at run time
    examples: |
      - do you have [sugar](product)
      - any [bread](product)
# the end
"""


def loaded_examples(document: str) -> dict[str, list[str]]:
    data = YAML(typ="safe").load(document)
    return {b["intent"]: [line[2:] for line in b["examples"].splitlines() if line.strip()] for b in data["nlu"]}


def test_an_example_goes_after_the_intents_last_example_and_every_other_line_stays():
    changed = with_example(DOCUMENT, "search_product", "mna unga wa ugali")
    before, after = DOCUMENT.splitlines(), changed.splitlines()
    assert after == [*before[:14], "      - mna unga wa ugali", *before[14:]]
    assert loaded_examples(changed)["search_product"][-1] == "mna unga wa ugali"
    assert examples(changed)["search_product"] == [
        "do you have [sugar](product)",
        "any [bread](product)",
        "mna unga wa ugali",
    ]


def test_an_example_is_added_after_the_blocks_last_line_not_after_the_blank_line_that_ends_it():
    changed = with_example(DOCUMENT, "greet", "niaje boss")
    assert (
        "      # not a comment: Rasa reads this line as text of the block\n      - niaje boss\n\n  - intent" in changed
    )
    assert loaded_examples(changed)["greet"][-1] == "niaje boss"


def test_the_same_words_again_are_refused_whatever_their_case_and_punctuation():
    with pytest.raises(Refused, match="already an example of greet"):
        with_example(DOCUMENT, "greet", "Hello there!")
    assert normalised("add [2](quantity) [Sugar](product)?") == "add 2 sugar"


def test_an_intent_without_examples_in_the_file_is_refused():
    with pytest.raises(Refused, match="no examples for checkout"):
        with_example(DOCUMENT, "checkout", "lipa sasa")


@pytest.mark.parametrize(
    "text",
    [
        'key: value # and "quotes',
        "- starts with a dash",
        "| pipe > and &anchor *alias !tag",
        "'single",
        "100%, @home, `tick`",
    ],
)
def test_texts_that_mean_something_in_yaml_stay_plain_text_in_the_block(text):
    changed = with_example(DOCUMENT, "greet", clean(text))
    assert loaded_examples(changed)["greet"][-1] == text
    assert examples(changed)["greet"][-1] == text


def test_a_message_becomes_one_line_without_control_characters():
    assert clean("  nataka\nsukari\tmbili\r\n ") == "nataka sukari mbili"
    assert clean("hi\x00 there\x07") == "hi there"
    assert clean("Habari 👋") == "Habari 👋"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("   \n ", "no words"),
        ("👋", "no words"),
        ("/pay_mpesa", "button"),
        ("lipa na 0712345678", "phone number"),
        ("add [2](quantity) sugar", "entity mark"),
        ("a" * 301, "longer than 300"),
    ],
)
def test_a_message_that_cannot_be_an_example_is_refused_saying_why(text, why):
    with pytest.raises(Refused, match=why):
        clean(text)


def test_the_training_set_refuses_unknown_intents_held_out_messages_and_examples_of_another_intent():
    held_out = {"tests/nlu/en.yml": "nlu:\n  - intent: greet\n    examples: |\n      - heyy there\n"}
    training = TrainingSet.of({"greet", "search_product"}, {"data/nlu/en.yml": DOCUMENT}, held_out)
    training.check("niaje boss", "greet")
    with pytest.raises(Refused, match="not an intent of domain"):
        training.check("niaje boss", "say_hi")
    with pytest.raises(Refused, match=r"held-out test set \(tests/nlu/en.yml\): it is never trained on"):
        training.check("Heyy there", "greet")
    with pytest.raises(Refused, match=r"already an example of search_product in data/nlu/en\.yml"):
        training.check("any bread", "greet")
