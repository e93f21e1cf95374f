"""The one settings object: every variable documented, a missing or malformed one named."""

import re
from pathlib import Path

import pytest

from actions.settings import Settings, SettingsError

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


@pytest.fixture
def clean_env(monkeypatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def test_a_missing_database_url_stops_the_process_naming_it(clean_env):
    with pytest.raises(SettingsError, match=r"DATABASE_URL: Field required"):
        Settings.load()


def test_each_malformed_variable_is_named(clean_env):
    clean_env.setenv("DATABASE_URL", "mysql://shop@db/shop")
    clean_env.setenv("DB_POOL_SIZE", "ten")
    clean_env.setenv("MPESA_TRANSACTION_TYPE", "CustomerPayLater")
    clean_env.setenv("SHOP_TIMEZONE", "Africa/Atlantis")
    with pytest.raises(SettingsError) as raised:
        Settings.load()
    named = set(re.findall(r"^\s+([A-Z_]+):", str(raised.value), re.MULTILINE))
    assert named == {"DATABASE_URL", "DB_POOL_SIZE", "MPESA_TRANSACTION_TYPE", "SHOP_TIMEZONE"}


def test_values_come_from_the_environment_typed(clean_env):
    clean_env.setenv("DATABASE_URL", "postgres://shop@db:5432/shop")
    clean_env.setenv("RECONCILE_BACKOFF_SECONDS", "30")
    clean_env.setenv("PUBLIC_BASE_URL", "https://pay.example.co.ke/")
    settings = Settings.load()
    assert settings.database_url == "postgresql+psycopg://shop@db:5432/shop"
    assert settings.check_policy.delay_after(2).total_seconds() == 120
    assert settings.public_base_url == "https://pay.example.co.ke" and settings.secure_cookies


def test_secrets_are_not_shown_when_the_settings_are_printed(clean_env):
    clean_env.setenv("DATABASE_URL", "postgresql://shop@db/shop")
    clean_env.setenv("PAYSTACK_SECRET_KEY", "sk_test_not_to_be_logged")
    assert "sk_test_not_to_be_logged" not in repr(Settings.load())


def test_every_variable_is_listed_in_env_example():
    listed = set(re.findall(r"^# ([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert {name.upper() for name in Settings.model_fields} - listed == set()
