import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("REDIS_URL is not set: run these tests through `make test`, which starts Redis")
    return url


@pytest.fixture
def key_prefix() -> str:
    return f"bot{uuid.uuid4().hex[:8]}"
