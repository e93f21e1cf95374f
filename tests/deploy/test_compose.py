"""deploy/compose.yaml runs the processes of `make serve` with the same commands; the production
credentials have no REST channel; the images install exactly the lock files and run as a user.

No image is built here (this machine reaches no container registry); what the files say is checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from deploy import proxy
from deploy.serve import COMMANDS, expand
from devstack.paths import ROOT

DEPLOY = ROOT / "deploy"


def load(path: Path):
    return YAML(typ="safe").load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    return load(DEPLOY / "compose.yaml")


def test_compose_runs_each_process_with_make_serves_command(compose):
    services = compose["services"]
    assert {name: services[name]["command"] for name in COMMANDS} == COMMANDS


def test_compose_has_the_proxy_and_rasa_replicas_and_no_database_or_redis_of_its_own(compose):
    services = compose["services"]
    assert set(services) == {"check", "migrate", "actions", "sidecar", "worker", "rasa", "proxy"}
    assert services["rasa"]["deploy"]["replicas"] == "${RASA_REPLICAS:-2}"
    assert not any(re.search(r"postgres|redis", str(service.get("image", ""))) for service in services.values())
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["proxy"]


def test_compose_starts_nothing_before_make_serves_checks_pass(compose):
    services = compose["services"]
    assert services["check"]["command"] == ["python", "-m", "deploy.serve", "--check"]
    for name in ("actions", "sidecar", "worker", "rasa"):
        assert services[name]["depends_on"]["check"] == {"condition": "service_completed_successfully"}


def test_the_production_credentials_have_the_whatsapp_channel_only():
    assert list(load(ROOT / "credentials.prod.yml")) == ["bot.channels.whatsapp.WhatsAppInput"]
    assert "rest" in load(ROOT / "credentials.yml")  # the dev and test stack keeps its own


def test_rasa_serves_its_api_only_behind_the_token():
    command = COMMANDS["rasa"]
    assert command[command.index("--auth-token") + 1] == "${RASA_TOKEN}"
    assert command[command.index("--credentials") + 1] == "credentials.prod.yml"
    assert expand(command, {"RASA_TOKEN": "t0ken", "RASA_PORT": "5011"})[-6:] == [
        "--auth-token", "t0ken", "--interface", "0.0.0.0", "--port", "5011"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "dockerfile, python, lock",
    [
        ("Dockerfile.rasa", "3.10", "requirements/rasa.lock"),
        ("Dockerfile.actions", "3.11", "requirements/actions.lock"),
    ],
)
def test_the_images_install_the_lock_file_and_run_as_a_user(dockerfile, python, lock):
    text = (DEPLOY / dockerfile).read_text()
    assert re.search(rf"^FROM python:{re.escape(python)}\.\d+-slim", text, re.M)
    assert f"COPY {lock} " in text and "pip install --require-hashes --no-deps -r" in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] != "root"
    if "rasa" in dockerfile:  # even the image's own default command keeps Rasa's API behind the token
        assert "--auth-token" in text.split("\nCMD ")[-1] and "rest" not in text


def test_the_proxy_template_renders_for_compose_and_for_make_serve(compose):
    for_compose = proxy.render(compose["services"]["proxy"]["environment"])
    for_serve = proxy.render(proxy.site_values("0.0.0.0:8080", 5005, [5010, 5011], 8000))
    assert "${" not in for_compose + for_serve
    assert "server rasa:5005;" in for_compose
    assert "server 127.0.0.1:5010;" in for_serve and "server 127.0.0.1:5011;" in for_serve
    assert "listen 127.0.0.1:5005;" in for_serve  # Rasa's API: private


@pytest.mark.skipif(proxy.find_nginx() is None, reason="nginx is not installed (make serve installs it)")
def test_nginx_accepts_make_serves_configuration(tmp_path):
    config = proxy.write_config(tmp_path, proxy.site_values("127.0.0.1:8080", 5005, [5010, 5011], 8000))
    assert proxy.config_problem(proxy.find_nginx(), config) is None
