"""The conversation review over conversations the project's tracker store saved (a live session in
Redis, an archived one in PostgreSQL), and its command adding one to a copy of the training files
that Rasa's own reader then loads."""

import os
import subprocess
import time
import uuid

import pytest
from sqlalchemy import func, select

from actions.commerce import review
from actions.commerce.phones import mask_phones
from actions.db import tables as t
from actions.db.conversations import StoredConversations
from actions.training_files import TrainingFiles
from devstack.paths import ACTIONS_PYTHON, RASA_VENV, ROOT
from tests.stored_conversations import save_two_sessions, training_copy

ARCHIVED = "je mna kasuku ya nusu kilo leo"
LIVE = "hio mafuta ya kupikia ni bei gani boss"


@pytest.fixture
def conversation(db, services, database_url, redis_key_prefix) -> str:
    """One customer's two sessions: the first (3 hours ago) archived, the second (an hour ago) live."""
    conversation = f"106540352242922:2547{uuid.uuid4().int % 10**8:08d}"
    now = time.time()
    first = [now - 3 * 3600, "demo-shop", ARCHIVED, "search_product", 0.35, "product_details"]
    second = [now - 3600, "demo-shop", LIVE, "search_product", 0.42, "check_order_status"]
    save_two_sessions(services.redis_url, redis_key_prefix, database_url, conversation, first, second)
    return conversation


def cli(settings, redis_key_prefix, project, *args):
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_KEY_PREFIX": redis_key_prefix,
        "REVIEW_PROJECT_DIR": str(project),
    }
    command = [str(ACTIONS_PYTHON), "-m", "actions.cli", "review", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


async def test_the_review_sees_the_live_session_in_redis_and_the_archived_one_in_postgresql(
    db, conversation, redis_key_prefix, tmp_path
):
    async with db.sessions() as session:
        archived = await session.scalar(select(func.count()).where(t.ConversationEvent.conversation_id == conversation))
    assert archived > 0  # the first session did move to PostgreSQL
    stored = StoredConversations(db.redis, redis_key_prefix, db.sessions)
    sources = {c.source for c in await stored.since(None) if c.id == conversation}
    assert sources == {"live", "archive"}
    groups = await review.review(stored, TrainingFiles(training_copy(tmp_path)), 0.6, tenant="demo-shop")
    items = {i.text: i for g in groups if g.intent == "search_product" for i in g.items}
    assert {ARCHIVED, LIVE} <= set(items)
    assert items[LIVE].runners_up[0].intent == "check_order_status" and items[LIVE].language == "sw"
    assert items[ARCHIVED].conversations == {mask_phones(conversation)} and conversation not in str(groups)
    assert await review.review(stored, TrainingFiles(tmp_path), 0.6, tenant="other-shop") == []


def test_the_command_lists_them_and_adds_one_that_rasa_then_reads_as_an_example(
    conversation, settings, redis_key_prefix, tmp_path
):
    project = training_copy(tmp_path)
    real_file = (ROOT / "data/nlu/sw.yml").read_text()
    listed = cli(settings, redis_key_prefix, project, "--since", "2h")
    assert listed.returncode == 0, listed.stderr
    assert f"{review.item_id(LIVE)}  {LIVE!r}  0.42" in listed.stdout and ARCHIVED not in listed.stdout  # 3 h ago
    everything = cli(settings, redis_key_prefix, project, "--since", "all").stdout
    assert ARCHIVED in everything and LIVE in everything

    added = cli(settings, redis_key_prefix, project, "add", review.item_id(ARCHIVED), "--intent", "search_product")
    assert added.returncode == 0, added.stderr
    assert "to search_product in data/nlu/sw.yml" in added.stdout
    assert ARCHIVED not in cli(settings, redis_key_prefix, project, "--since", "all").stdout
    again = cli(settings, redis_key_prefix, project, "add", review.item_id(ARCHIVED), "--intent", "search_product")
    assert again.returncode == 1 and "no message" in again.stderr
    unknown = cli(settings, redis_key_prefix, project, "add", review.item_id(LIVE), "--intent", "buy_oil")
    assert unknown.returncode == 1 and "not an intent of domain.yml" in unknown.stderr

    read = subprocess.run(
        [str(RASA_VENV / "bin/python"), "-c", RASA_READS, str(project / "data/nlu/sw.yml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert read.returncode == 0, read.stderr
    assert f"search_product\t{ARCHIVED}" in read.stdout.splitlines()
    assert (ROOT / "data/nlu/sw.yml").read_text() == real_file  # the repository's own file is untouched


RASA_READS = """
import sys
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
for message in RasaYAMLReader().read(sys.argv[1]).intent_examples:
    print(f"{message.get('intent')}\\t{message.get('text')}")
"""
