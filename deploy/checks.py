"""What the production run refuses to start with: a secret that is missing or a development value,
provider URLs that are not the real ones, and a database that is not at Alembic's head.

Plain functions over the environment, so the refusals are tested without starting anything.
Each problem is one line that begins with the variable's name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg

from actions.db.tables import SCHEMA
from actions.observability.readiness import code_head, schema_problem
from actions.payments.secret_box import parse_keys

# The providers' production endpoints; anything else needs ALLOW_SANDBOX_PROVIDERS=1 (a staging run).
REAL_PROVIDER_URLS = {
    "MPESA_BASE_URL": "https://api.safaricom.co.ke",
    "PAYSTACK_BASE_URL": "https://api.paystack.co",
    "WHATSAPP_GRAPH_URL": "https://graph.facebook.com",
}
SANDBOX_FLAG = "ALLOW_SANDBOX_PROVIDERS"
DARAJA_SANDBOX_SHORTCODE = "174379"
DARAJA_SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"  # published by Safaricom

# The dev stack's throwaway values carry these prefixes (devstack/stack.py); Paystack's test keys too.
DEV_PREFIXES = ("dev-", "dev_", "test-", "test_", "sk_test_", "eaadev", "demo-", "demo_")
SANDBOX_PREFIXES = ("sk_test_",)  # allowed with ALLOW_SANDBOX_PROVIDERS=1
PLACEHOLDER_WORDS = ("changeme", "replaceme", "placeholder", "example", "yoursecret", "yourtoken", "dummy",
                     "insecure", "notasecret", "xxxxxx", "123456", "password")  # fmt: skip
PLACEHOLDERS = {"test", "testing", "dev", "development", "secret", "token", "fake", "sample", "default", "none",
                "null", "demo", "local", "admin", "staging"}  # fmt: skip


@dataclass(frozen=True)
class Secret:
    name: str
    min_length: int = 16


# Tokens we make ourselves are 32 characters or more (`openssl rand -hex 32` gives 64).
ALWAYS = (
    Secret("RASA_TOKEN", 32),
    Secret("METRICS_TOKEN", 32),
    Secret("WHATSAPP_VERIFY_TOKEN"),
    Secret("WHATSAPP_APP_SECRET"),
    Secret("WHATSAPP_REPLY_KEY", 32),
)
MPESA = (Secret("MPESA_CONSUMER_KEY"), Secret("MPESA_CONSUMER_SECRET"), Secret("MPESA_PASSKEY"))
PAYSTACK = (Secret("PAYSTACK_SECRET_KEY"),)
WHATSAPP_TOKEN = re.compile(r"WHATSAPP_ACCESS_TOKEN(_\d+)?")


def secret_problem(secret: Secret, value: str, sandbox: bool = False) -> str | None:
    """Why `value` is no production secret, or None."""
    value = value.strip()
    lowered = value.lower()
    letters = re.sub(r"[^a-z0-9]", "", lowered)
    if not value:
        return "is not set"
    if sandbox and lowered.startswith(SANDBOX_PREFIXES):
        return None
    if lowered.startswith(DEV_PREFIXES):
        return "is a development or test value (the dev stack's throwaway values look like this); use the real one"
    if letters in PLACEHOLDERS or any(word in letters for word in PLACEHOLDER_WORDS):
        return "is a placeholder; use the real value"
    if value == DARAJA_SANDBOX_PASSKEY and not sandbox:
        return "is Daraja's published sandbox passkey; use your shortcode's passkey"
    if len(value) < secret.min_length:
        return f"is {len(value)} characters, at least {secret.min_length} are needed (e.g. `openssl rand -hex 32`)"
    if len(set(value)) < 6:
        return "has too few different characters to be a secret"
    return None


def provider_urls(env: Mapping[str, str]) -> dict[str, str]:
    """The providers' base URLs of this run: the real ones unless the environment names others."""
    return {name: (env.get(name) or real).strip().rstrip("/") for name, real in REAL_PROVIDER_URLS.items()}


def environment_problems(env: Mapping[str, str]) -> list[str]:
    """Every reason the environment cannot run production, one line each, beginning with the variable."""
    sandbox = env.get(SANDBOX_FLAG, "").strip().lower() in ("1", "true", "yes")
    problems = [*url_problems(env), *provider_url_problems(env, sandbox)]
    secrets = [*ALWAYS, *payment_secrets(env, sandbox, problems)]
    tokens = [name for name in env if WHATSAPP_TOKEN.fullmatch(name) and env[name].strip()]
    if not tokens:
        problems.append("WHATSAPP_ACCESS_TOKEN: is not set (nor any WHATSAPP_ACCESS_TOKEN_<phone_number_id>)")
    secrets += [Secret(name) for name in sorted(tokens)]
    if env.get("PAYSTACK_EMAIL_SECRET"):
        secrets.append(Secret("PAYSTACK_EMAIL_SECRET"))
    for secret in secrets:
        if problem := secret_problem(secret, env.get(secret.name, ""), sandbox):
            problems.append(f"{secret.name}: {problem}")
    problems += shared_values(env, secrets)
    problems += secrets_key_problems(env.get("SHOP_SECRETS_KEY", ""))
    replicas = env.get("RASA_REPLICAS", "1").strip()
    if not replicas.isdigit() or int(replicas) < 1:
        problems.append(f"RASA_REPLICAS: {replicas!r} is not a number of Rasa servers (1 or more)")
    return problems


def secrets_key_problems(value: str) -> list[str]:
    """SHOP_SECRETS_KEY seals shops' own payment accounts: required, and every entry a Fernet key."""
    if not value.strip():
        return ["SHOP_SECRETS_KEY: is not set (shops' own payment accounts are encrypted with it): "
                "python -m actions.cli new-secrets-key"]  # fmt: skip
    try:
        parse_keys(value)
    except ValueError as e:
        return [f"SHOP_SECRETS_KEY: {e}"]
    return []


def url_problems(env: Mapping[str, str]) -> list[str]:
    problems = []
    # redis:// only: the Rasa side's stores take a host, port and password (endpoints.yml), without TLS.
    for name, schemes in (("DATABASE_URL", ("postgresql://", "postgres://")), ("REDIS_URL", ("redis://",))):
        url = env.get(name, "").strip()
        if not url:
            problems.append(f"{name}: is not set (the production run starts no database or Redis of its own)")
        elif not url.startswith(schemes):
            problems.append(f"{name}: must begin with {' or '.join(schemes)}")
        elif ".data/" in url:
            problems.append(f"{name}: points into .data/, the dev stack's embedded server")
    public = env.get("PUBLIC_BASE_URL", "").strip()
    if not public:
        problems.append("PUBLIC_BASE_URL: is not set (where Daraja and Paystack reach the sidecar, https://…)")
    elif not public.startswith("https://") or re.match(r"https://(localhost|127\.|\[::1\])", public):
        problems.append(f"PUBLIC_BASE_URL: {public} is not a public https:// address (Daraja calls back only to https)")
    return problems


def provider_url_problems(env: Mapping[str, str], sandbox: bool) -> list[str]:
    if sandbox:
        return []
    return [
        f"{name}: {url} is not {REAL_PROVIDER_URLS[name]}; set {SANDBOX_FLAG}=1 to run against another (a sandbox)"
        for name, url in provider_urls(env).items()
        if url != REAL_PROVIDER_URLS[name]
    ]


def payment_secrets(env: Mapping[str, str], sandbox: bool, problems: list[str]) -> list[Secret]:
    """A provider is on when any of its secrets is set (then all must be right); at least one must be on."""
    on = [group for group in (MPESA, PAYSTACK) if any(env.get(s.name, "").strip() for s in group)]
    if not on:
        problems.append("MPESA_CONSUMER_KEY, MPESA_CONSUMER_SECRET, MPESA_PASSKEY or PAYSTACK_SECRET_KEY: "
                        "no payment provider is configured")  # fmt: skip
    shortcode = env.get("MPESA_SHORTCODE", DARAJA_SANDBOX_SHORTCODE).strip()
    if MPESA in on and shortcode == DARAJA_SANDBOX_SHORTCODE and not sandbox:
        problems.append(f"MPESA_SHORTCODE: {shortcode} is Daraja's sandbox shortcode; set your own")
    return [secret for group in on for secret in group]


def shared_values(env: Mapping[str, str], secrets: list[Secret]) -> list[str]:
    first: dict[str, str] = {}
    problems = []
    for secret in secrets:
        value = env.get(secret.name, "").strip()
        if value and value in first:
            problems.append(f"{secret.name}: the same value as {first[value]}; give each secret its own")
        first.setdefault(value, secret.name)
    return problems


def migration_problem(database_url: str) -> str | None:
    """None when the database is at the code's Alembic head; else what is wrong and how to migrate."""
    url = re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", database_url.strip())
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            if conn.execute(f"SELECT to_regclass('{SCHEMA}.alembic_version')").fetchone()[0] is None:
                revision = None
            else:
                revision = conn.execute(f"SELECT version_num FROM {SCHEMA}.alembic_version").fetchone()[0]
    except psycopg.OperationalError as e:
        return f"DATABASE_URL: cannot connect: {str(e).strip().splitlines()[0]}"
    problem = schema_problem(revision, code_head())
    if problem is None:
        return None
    problem = problem.removesuffix(": run `make migrate` (alembic upgrade head)")
    return (
        f"DATABASE_URL: {problem}.\n  Migrate it with this DATABASE_URL exported: `make migrate` (alembic upgrade head;"
        " with compose: `docker compose -f deploy/compose.yaml run --rm migrate`), then start again."
    )
