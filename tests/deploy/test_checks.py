"""`make serve` refuses to start, naming the variable, when a secret is missing or a development
value, when the providers' URLs are not the real ones, and when the database is not at Alembic's head."""

from __future__ import annotations

import os
import secrets
import subprocess

import pytest
from cryptography.fernet import Fernet

from deploy.checks import ALWAYS, DARAJA_SANDBOX_PASSKEY, MPESA, PAYSTACK, environment_problems
from devstack.paths import ACTIONS_PYTHON, ROOT
from tests.conftest import alembic
from tests.deploy.environments import production_env

SECRETS = [secret.name for secret in (*ALWAYS, *MPESA, *PAYSTACK)] + ["WHATSAPP_ACCESS_TOKEN"]
# Each provider's secrets are required only together (tested below): the rest always.
REQUIRED = [*(s.name for s in ALWAYS), "WHATSAPP_ACCESS_TOKEN", "DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL",
            "SHOP_SECRETS_KEY"]  # fmt: skip
DEV_VALUES = {
    "empty": "",
    "blank": "   ",
    "changeme": "changeme",
    "test": "test",
    "dev": "dev",
    "too short": "Zq8Lr2Xw",
    "a placeholder sentence": "please-changeme-before-going-live",
    "one letter repeated": "a" * 64,
    "the dev stack's prefix": "dev-consumer-key-" + secrets.token_hex(8),
    "a test prefix": "test_" + secrets.token_hex(16),
}


def named(problems: list[str], variable: str) -> bool:
    return any(problem.startswith(f"{variable}:") for problem in problems)


def test_a_production_environment_has_no_problems():
    assert environment_problems(production_env()) == []


@pytest.mark.parametrize("variable", REQUIRED)
def test_a_missing_variable_is_named(variable):
    assert named(environment_problems(production_env(**{variable: None})), variable)


@pytest.mark.parametrize("value", ["not-a-fernet-key", "dev-" + secrets.token_hex(16), "a" * 44])
def test_a_shop_secrets_key_that_is_not_a_fernet_key_is_named(value):
    assert named(environment_problems(production_env(SHOP_SECRETS_KEY=value)), "SHOP_SECRETS_KEY")


def test_a_shop_secrets_key_list_during_rotation_is_accepted():
    env = production_env()
    assert (
        environment_problems(
            production_env(SHOP_SECRETS_KEY=f"{Fernet.generate_key().decode()},{env['SHOP_SECRETS_KEY']}")
        )
        == []
    )


@pytest.mark.parametrize("variable", SECRETS)
@pytest.mark.parametrize("kind", DEV_VALUES)
def test_a_development_value_of_a_secret_is_named(variable, kind):
    problems = environment_problems(production_env(**{variable: DEV_VALUES[kind]}))
    if variable in ("PAYSTACK_SECRET_KEY",) and not DEV_VALUES[kind].strip():
        assert problems == []  # Paystack is off when its key is empty; M-Pesa still is on
    else:
        assert named(problems, variable), problems


@pytest.mark.parametrize(
    "variable, value",
    [
        ("PAYSTACK_SECRET_KEY", "sk_test_" + secrets.token_hex(20)),  # Paystack's test mode, and the dev stack's
        ("WHATSAPP_ACCESS_TOKEN", "EAAdev" + secrets.token_hex(16)),  # the dev stack's throwaway token
        ("MPESA_CONSUMER_KEY", "dev-consumer-key"),  # the dev stack's
        ("MPESA_PASSKEY", DARAJA_SANDBOX_PASSKEY),
        ("RASA_TOKEN", secrets.token_hex(8)),  # 16 characters: tokens we make are 32 or more
        ("WHATSAPP_ACCESS_TOKEN_106540352242922", "changeme"),
    ],
)
def test_the_dev_stacks_and_the_sandboxes_values_are_named(variable, value):
    assert named(environment_problems(production_env(**{variable: value})), variable)


def test_a_merchants_own_whatsapp_token_is_enough():
    env = production_env(WHATSAPP_ACCESS_TOKEN=None, WHATSAPP_ACCESS_TOKEN_106540352242922="EAAG" + "x1Y2z3" * 20)
    assert environment_problems(env) == []
    assert named(environment_problems(production_env(WHATSAPP_ACCESS_TOKEN=None)), "WHATSAPP_ACCESS_TOKEN")


def test_one_payment_provider_is_enough_but_a_part_of_one_is_named():
    without_paystack = production_env(PAYSTACK_SECRET_KEY=None)
    without_mpesa = production_env(MPESA_CONSUMER_KEY=None, MPESA_CONSUMER_SECRET=None, MPESA_PASSKEY=None)
    assert environment_problems(without_paystack) == environment_problems(without_mpesa) == []
    assert named(environment_problems(production_env(MPESA_PASSKEY=None)), "MPESA_PASSKEY")
    neither = production_env(PAYSTACK_SECRET_KEY=None, MPESA_CONSUMER_KEY=None, MPESA_CONSUMER_SECRET=None,
                             MPESA_PASSKEY=None)  # fmt: skip
    assert any("no payment provider is configured" in problem for problem in environment_problems(neither))


def test_daraja_sandbox_shortcode_is_named():
    assert named(environment_problems(production_env(MPESA_SHORTCODE=None)), "MPESA_SHORTCODE")  # default 174379


@pytest.mark.parametrize(
    "variable, url",
    [
        ("MPESA_BASE_URL", "https://sandbox.safaricom.co.ke"),
        ("PAYSTACK_BASE_URL", "http://127.0.0.1:8765"),  # the dev stack's simulator
        ("WHATSAPP_GRAPH_URL", "http://127.0.0.1:8765"),
    ],
)
def test_provider_urls_must_be_the_real_ones_unless_sandboxes_are_allowed(variable, url):
    assert named(environment_problems(production_env(**{variable: url})), variable)
    assert environment_problems(production_env(**{variable: url, "ALLOW_SANDBOX_PROVIDERS": "1"})) == []


def test_sandbox_keys_pass_only_when_sandboxes_are_allowed():
    env = production_env(
        PAYSTACK_SECRET_KEY="sk_test_" + secrets.token_hex(20),
        MPESA_SHORTCODE="174379",
        MPESA_PASSKEY=DARAJA_SANDBOX_PASSKEY,
        MPESA_BASE_URL="https://sandbox.safaricom.co.ke",
    )
    assert {p.split(":")[0] for p in environment_problems(env)} == {
        "PAYSTACK_SECRET_KEY", "MPESA_SHORTCODE", "MPESA_PASSKEY", "MPESA_BASE_URL"
    }  # fmt: skip
    assert environment_problems({**env, "ALLOW_SANDBOX_PROVIDERS": "1"}) == []


def test_one_value_for_two_secrets_is_named():
    token = secrets.token_hex(32)
    assert named(environment_problems(production_env(RASA_TOKEN=token, METRICS_TOKEN=token)), "METRICS_TOKEN")


@pytest.mark.parametrize(
    "variable, value",
    [
        ("DATABASE_URL", "mysql://shop@db/shop"),
        ("DATABASE_URL", f"postgresql://postgres@/postgres?host={ROOT}/.data/dev/postgres"),  # the embedded one
        ("REDIS_URL", "rediss://redis.internal:6380/0"),  # the Rasa side's stores speak no TLS
        ("PUBLIC_BASE_URL", "http://pay.duka.co.ke"),
        ("PUBLIC_BASE_URL", "https://127.0.0.1:8000"),
        ("RASA_REPLICAS", "0"),
        ("RASA_REPLICAS", "two"),
    ],
)
def test_addresses_and_numbers_that_cannot_run_production_are_named(variable, value):
    assert named(environment_problems(production_env(**{variable: value})), variable)


def check(env: dict[str, str]) -> subprocess.CompletedProcess:
    """`make serve CHECK=1` with exactly this environment."""
    return subprocess.run(
        [str(ACTIONS_PYTHON), "-m", "deploy.serve", "--check"],
        cwd=ROOT, env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_launcher_refuses_naming_each_variable():
    result = check(production_env(RASA_TOKEN=None, WHATSAPP_APP_SECRET="changeme"))
    assert result.returncode == 2
    assert "make serve refuses to start" in result.stderr
    assert "RASA_TOKEN: is not set" in result.stderr
    assert "WHATSAPP_APP_SECRET: is a placeholder" in result.stderr


def test_the_launcher_refuses_a_malformed_setting_of_the_action_side(services):
    result = check(production_env(REDIS_URL=services.redis_url, RECONCILE_MAX_CHECKS="many"))
    assert result.returncode == 2 and "RECONCILE_MAX_CHECKS" in result.stderr


def test_the_launcher_refuses_a_database_not_at_alembic_head_and_says_how_to_migrate(services, scratch_database):
    env = production_env(DATABASE_URL=scratch_database, REDIS_URL=services.redis_url)
    result = check(env)
    assert result.returncode == 2
    assert "DATABASE_URL: database has no schema" in result.stderr and "alembic upgrade head" in result.stderr

    alembic(scratch_database, "upgrade", "head")
    head = alembic(scratch_database, "current").stdout.split()[0]
    alembic(scratch_database, "downgrade", "-1")
    result = check(env)
    assert result.returncode == 2
    assert f"code expects {head}" in result.stderr and "make migrate" in result.stderr

    alembic(scratch_database, "upgrade", "head")
    result = check(env)
    assert result.returncode == 0, result.stderr
    assert "ready for production" in result.stdout
