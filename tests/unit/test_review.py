"""The conversation review over hand-built Rasa events: which messages it lists and why, grouped and
de-duplicated, masked, and adding one as an example in one step (over the in-memory training files)."""

from datetime import UTC, datetime, timedelta

import pytest

from actions.commerce import review
from actions.commerce.errors import NotFound, Refused
from actions.commerce.nlu_examples import TrainingSet, normalised
from actions.commerce.ports import Conversation
from actions.commerce.review import Reason
from actions.training_files import TrainingFiles
from tests.fakes import FakeConversationSource, FakeTrainingData
from tests.stored_conversations import training_copy

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
BELOW = 0.6
CUSTOMER = "106540352242922:254712345678"
NOTHING_TRAINED = TrainingSet.of(set(), {}, {})


def at(minute: float) -> float:
    return (NOW - timedelta(hours=1) + timedelta(minutes=minute)).timestamp()


def user(text: str, intent: str, confidence: float, *others: tuple[str, float], minute: float = 0) -> dict:
    ranking = [{"name": intent, "confidence": confidence}, *({"name": n, "confidence": c} for n, c in others)]
    parse_data = {"text": text, "intent": {"name": intent, "confidence": confidence}, "intent_ranking": ranking}
    return {"event": "user", "timestamp": at(minute), "text": text, "parse_data": parse_data}


def action(name: str, minute: float = 0) -> dict:
    return {"event": "action", "name": name, "timestamp": at(minute)}


def bot(text: str, utter_action: str, minute: float = 0) -> dict:
    return {"event": "bot", "text": text, "metadata": {"utter_action": utter_action}, "timestamp": at(minute)}


def slot(name: str, value: object, minute: float = 0) -> dict:
    return {"event": "slot", "name": name, "value": value, "timestamp": at(minute)}


def session(tenant: str = "demo-shop") -> list[dict]:
    return [action("action_session_start"), slot("tenant", tenant), action("action_listen")]


def conversation(*events: dict, cid: str = CUSTOMER, tenant: str = "demo-shop", source: str = "live") -> Conversation:
    return Conversation(cid, [*session(tenant), *events], source)


def listed(*events: dict) -> list[review.Unsure]:
    return list(review.unsure_messages(conversation(*events), BELOW))


def test_a_message_below_the_confidence_threshold_is_listed_with_the_runners_up():
    found = listed(
        user("hi", "greet", 0.99, minute=1),
        action("utter_greet"),
        user("una kasuku", "search_product", 0.41, ("product_details", 0.3), ("inform", 0.1), minute=2),
        action("action_search_products"),
    )
    assert [(u.text, u.guess, u.reasons) for u in found] == [
        ("una kasuku", review.Guess("search_product", 0.41), {Reason.LOW_CONFIDENCE})
    ]
    assert found[0].runners_up == (review.Guess("product_details", 0.3), review.Guess("inform", 0.1))


def test_a_fallback_is_listed_under_what_the_model_would_have_guessed():
    fell_back = user("ngai wee", "nlu_fallback", 0.25, ("greet", 0.2), ("stop", 0.1), minute=1)
    found = listed(fell_back, action("utter_default"))
    assert found[0].guess == review.Guess("greet", 0.2) and found[0].reasons == {Reason.FALLBACK, Reason.LOW_CONFIDENCE}
    defaulted = listed(user("sawa sawa", "affirm", 0.7, minute=1), action("action_default_fallback"))
    assert defaulted[0].reasons == {Reason.FALLBACK}


def asking_quantity(minute: float) -> list[dict]:
    asking = [slot("requested_slot", "quantity", minute), bot("How many?", "utter_ask_quantity", minute)]
    return [action("add_item_form", minute), *asking]


def test_a_message_the_form_asks_again_after_is_listed_but_not_a_detour_the_bot_took_on_purpose():
    again = listed(
        *asking_quantity(1),
        action("action_listen", 1),
        user("kama tatu hivi", "inform", 0.9, minute=2),
        action("add_item_form", 2),
        *asking_quantity(2),
        action("action_listen", 2),
    )
    assert [(u.text, u.reasons) for u in again] == [("kama tatu hivi", {Reason.ASKED_AGAIN})]
    detour = listed(
        *asking_quantity(1),
        action("action_listen", 1),
        user("do you have sugar", "search_product", 0.95, minute=2),
        action("action_search_products", 2),
        *asking_quantity(2),
    )
    assert detour == []
    next_session = listed(*asking_quantity(1), *session(), user("nataka sukari", "add_to_cart", 0.9, minute=90),
                          *asking_quantity(90))  # fmt: skip
    assert next_session == []  # the question of an earlier session is not this one's


def test_before_a_plain_request_for_a_person_the_message_the_bot_did_not_help_with_is_listed():
    found = listed(
        user("mna gesi ya kupikia", "search_product", 0.8, minute=1),
        action("action_search_products", 1),
        user("nataka kuongea na mtu", "talk_to_human", 0.97, minute=2),
        action("action_handoff", 2),
    )
    assert [(u.text, u.reasons) for u in found] == [("mna gesi ya kupikia", {Reason.HANDOFF})]
    unclear = listed(user("hii ni shida tupu", "talk_to_human", 0.5, minute=1), action("action_handoff", 1))
    assert unclear[0].reasons == {Reason.HANDOFF, Reason.LOW_CONFIDENCE}


def test_buttons_the_workers_messages_confident_turns_and_older_messages_are_not_listed():
    events = [
        user("/pay_mpesa", "pay_mpesa", 1.0, minute=1),
        user("/EXTERNAL_payment_update", "EXTERNAL_payment_update", 1.0, minute=2),
        user("my cart", "view_cart", 0.98, minute=3),
        user("old and unsure", "inform", 0.2, minute=-600),
    ]
    assert list(review.unsure_messages(conversation(*events), BELOW, since=NOW - timedelta(hours=2))) == []


def test_the_conversation_is_masked_and_so_are_phone_numbers_in_what_is_shown():
    found = listed(user("tuma kwa 0712345678 basi", "pay_mpesa", 0.4, minute=1))
    assert found[0].conversation == "106***922:254***678"
    item = review.grouped(found, NOTHING_TRAINED)[0].items[0]
    assert item.shown == "tuma kwa 071***678 basi" and "345" not in item.shown


def test_messages_are_grouped_by_the_guess_and_the_same_words_counted_once():
    first = conversation(user("Do you have Kasuku?", "search_product", 0.4, minute=1), cid="254700000001")
    second = conversation(
        user("do you have  kasuku", "search_product", 0.5, minute=5),
        user("ondoa hiyo", "remove_from_cart", 0.3, minute=6),
        cid="254700000002",
        source="archive",
    )
    found = [u for c in (first, second) for u in review.unsure_messages(c, BELOW)]
    groups = review.grouped(found, NOTHING_TRAINED)
    assert [(g.intent, g.count) for g in groups] == [("search_product", 2), ("remove_from_cart", 1)]
    kasuku = groups[0].items[0]
    assert kasuku.count == 2 and kasuku.text == "do you have  kasuku" and kasuku.guess.confidence == 0.5
    assert kasuku.conversations == {"254***001", "254***002"}
    assert kasuku.id == review.item_id("do you have kasuku")


def test_since_reads_days_hours_minutes_weeks_or_all():
    assert review.since("7d", NOW) == NOW - timedelta(days=7)
    assert review.since("12h", NOW) == NOW - timedelta(hours=12)
    assert review.since("all", NOW) is None
    with pytest.raises(ValueError, match="7d"):
        review.since("last week", NOW)


EN = """version: "3.1"

nlu:
  - intent: search_product
    examples: |
      - do you have [sugar](product)
"""
SW = """version: "3.1"

nlu:
  - intent: search_product
    examples: |
      - mna [sukari](product)
  - intent: remove_from_cart
    examples: |
      - toa [sukari](product)
"""
HELD_OUT = """nlu:
  - intent: remove_from_cart
    examples: |
      - ondoa hiyo
"""


@pytest.fixture
def world():
    shop = conversation(
        user("una kasuku kweli", "search_product", 0.41, minute=1),
        user("ondoa hiyo", "remove_from_cart", 0.3, minute=2),
        user("2kg", "inform", 0.3, minute=3),
    )
    other = conversation(user("mna unga", "search_product", 0.2, minute=1), cid="254799999999", tenant="other-shop")
    files = {"data/nlu/en.yml": EN, "data/nlu/sw.yml": SW}
    intents = {"search_product", "remove_from_cart", "inform", "greet"}
    return FakeConversationSource(shop, other), FakeTrainingData(intents, files, {"tests/nlu/sw.yml": HELD_OUT})


async def test_review_lists_one_shops_messages_and_marks_the_held_out_ones(world):
    conversations, training = world
    groups = await review.review(conversations, training, BELOW, NOW - timedelta(days=7), tenant="demo-shop")
    texts = {i.text: i for g in groups for i in g.items}
    assert set(texts) == {"una kasuku kweli", "ondoa hiyo", "2kg"}
    assert texts["ondoa hiyo"].held_out == "tests/nlu/sw.yml" and texts["una kasuku kweli"].held_out is None
    assert len([i for g in await review.review(conversations, training, BELOW) for i in g.items]) == 4


async def test_adding_a_message_puts_it_in_its_languages_file_and_takes_it_off_the_review(world):
    conversations, training = world
    added = await review.add_example(
        conversations, training, BELOW, review.item_id("una kasuku kweli"), "search_product"
    )
    assert added.file == "data/nlu/sw.yml" and added.language == "sw"
    assert (
        "      - mna [sukari](product)\n      - una kasuku kweli\n  - intent: remove_from_cart"
        in training.files[added.file]
    )
    assert training.files["data/nlu/en.yml"] == EN
    remaining = {i.text for g in await review.review(conversations, training, BELOW) for i in g.items}
    assert "una kasuku kweli" not in remaining
    with pytest.raises(NotFound):  # added already
        await review.add_example(conversations, training, BELOW, added.item.id, "search_product")


async def test_adding_refuses_an_unknown_id_or_intent_the_held_out_set_and_an_unsaid_language(world):
    conversations, training = world
    before = dict(training.files)
    with pytest.raises(NotFound):
        await review.add_example(conversations, training, BELOW, "deadbeef", "search_product")
    with pytest.raises(Refused, match="not an intent of domain"):
        await review.add_example(conversations, training, BELOW, review.item_id("una kasuku kweli"), "buy_kasuku")
    with pytest.raises(Refused, match=r"held-out test set \(tests/nlu/sw.yml\)"):
        await review.add_example(conversations, training, BELOW, review.item_id("ondoa hiyo"), "remove_from_cart")
    with pytest.raises(Refused, match="en or sw"):
        await review.add_example(conversations, training, BELOW, review.item_id("2kg"), "inform")
    with pytest.raises(Refused, match="no examples for greet"):
        await review.add_example(conversations, training, BELOW, review.item_id("2kg"), "greet", language="en")
    assert training.files == before
    added = await review.add_example(conversations, training, BELOW, review.item_id("2kg"), "search_product", "en")
    assert added.file == "data/nlu/en.yml" and training.files[added.file].endswith("      - 2kg\n")


async def test_the_training_files_are_read_again_only_once_one_of_them_changed(tmp_path):
    """The review page reads them twice a request; YAML takes 0.4 s, so what was read is kept until a file changes."""
    files = TrainingFiles(training_copy(tmp_path))
    first = await files.current()
    assert await files.current() is first
    domain = tmp_path / "domain.yml"
    domain.write_text(domain.read_text().replace("intents:\n", "intents:\n  - fuzz_new_intent\n", 1))
    assert "fuzz_new_intent" in (await files.current()).intents
    nlu = tmp_path / "data/nlu/en.yml"
    nlu.write_text(nlu.read_text() + "\n- intent: fuzz_new_intent\n  examples: |\n    - a brand new example\n")
    assert normalised("a brand new example") in (await files.current()).trained
