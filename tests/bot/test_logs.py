"""The Rasa server's log lines, once the WhatsApp channel or a store is made, hold no whole phone number:
the same table as the action side's (tests/phone_masks.py), through logging as Rasa configures it."""

import io
import logging

import pytest
import structlog
from rasa.utils.log_utils import configure_structlog

from bot import logs
from bot.stores.lock import TicketLockStore
from tests.phone_masks import LEFT_ALONE, MASKED

CONVERSATION = "106540352242922:254712345678"


@pytest.mark.parametrize(("text", "masked"), MASKED)
def test_phone_numbers_of_every_country_are_masked(text, masked):
    assert logs.mask_phones(text) == masked


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_other_numbers_are_left_alone(text):
    assert logs.mask_phones(text) == text


@pytest.fixture
def written(redis_url):
    """Logging as `rasa run` sets it up, a store made (which installs the masking), and a handler added
    afterwards, as Sanic adds its own: what reaches it."""
    configure_structlog(logging.DEBUG)
    TicketLockStore(url=redis_url)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.DEBUG
    yield buffer.getvalue
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_conversation_id_is_masked_in_rasas_log_lines_and_in_tracebacks(written):
    logging.getLogger("rasa.core.processor").debug("Starting a new session for conversation ID '%s'.", CONVERSATION)
    structlog.get_logger().debug("processor.message.parse", sender_id=CONVERSATION, text="nipigie +234 803 123 4567")
    try:
        raise RuntimeError(f"no tracker for {CONVERSATION}")
    except RuntimeError:
        logging.getLogger("rasa.core.agent").exception("failed")
    lines = written()
    assert lines.count("106***922:254***678") == 3 and "+234***567" in lines
    assert "254712345678" not in lines and "106540352242922" not in lines and "803 123 4567" not in lines
