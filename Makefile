# The two commands: `make chat` (talk to the shop assistant) and `make test` (every test).
# Everything else here is what those two need; `make help` lists it.

SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
# uv on PATH, else a private copy installed with pip into .tools/.
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)

# Rasa 3.6 needs Python 3.10: on PATH, else under pyenv (its shim may be inactive), else uv's.
define find_python
$(firstword $(foreach p,$(1),$(shell $(p) -c 'import sys; sys.exit(sys.version_info[:2] < $(2))' 2>/dev/null && $(p) -c 'import sys; print(sys.executable)')))
endef
PY310 := $(call find_python,python3.10 $(wildcard $(HOME)/.pyenv/versions/3.10.*/bin/python3.10),(3,10))
PY311 := $(call find_python,python3 python3.13 python3.12 python3.11 $(wildcard $(HOME)/.pyenv/versions/3.1[1-9].*/bin/python3),(3,11))

ACTIONS_VENV := .venv
RASA_VENV := .venv-rasa

.PHONY: help chat serve interactive review test test-faults test-fuzz test-stories test-nlu test-nlu-heldout test-conversations bench envs browser proxy lint format migrate seed lock clean

help:
	@echo "make chat   start PostgreSQL, Redis, the action server and talk to the bot in rasa shell"
	@echo "make serve  the production run from the environment: RASA_REPLICAS Rasa servers behind nginx, the action"
	@echo "            server, sidecar and worker; refuses missing or dev secrets and an unmigrated database"
	@echo "            (make serve CHECK=1: only check; see README 'Running for real')"
	@echo "make interactive  the same stack with rasa interactive, to correct the bot and save stories"
	@echo "make review SINCE=7d  the customers' messages the bot was unsure about (add one: ADD=<id> INTENT=<intent> [LANGUAGE=sw])"
	@echo "make test   run every test (ruff, rasa data validate, pytest in both environments)"
	@echo "make test-stories  the conversation tests (tests/conversations): failing stories, changes since the previous run (~2 min)"
	@echo "make test-nlu  5-fold cross-validation of the NLU, intent and entity scores per language, then the held-out report (~31 min)"
	@echo "make test-nlu-heldout  the trained model on the held-out messages of tests/nlu: accuracy, confusions, changes (~1 min)"
	@echo "make test-conversations N=200  random walks through the whole stack, invariants checked every turn (SEED=, TURNS= to replay)"
	@echo "make test-faults N=40  purchases while processes are killed and servers stopped, then an audit of every payment (SEED= to replay)"
	@echo "make test-fuzz N=10000  generated requests to every public route: no 5xx, nothing changed by an unauthenticated one (RANDOM=1, K=)"
	@echo "make bench  benchmarks: a turn's cost as ratios to a bare Rasa turn (~15 min; make bench QUICK=1: ~6)"
	@echo "make envs   create or update the two Python environments from the lock files"
	@echo "make browser  install Debian's chromium for the admin pages' browser test (make test does it)"
	@echo "make format format the code with ruff"
	@echo "make migrate / make seed   migrate the database / reload the demo shop's catalog"
	@echo "make lock   re-resolve requirements/*.in into the lock files"
	@echo "make clean  remove environments, local data and models"

$(UV):
	@echo "==> Installing uv $(UV_VERSION) into .tools/"
	@python3 -m venv .tools && .tools/bin/pip install --quiet "uv==$(UV_VERSION)"

$(ACTIONS_VENV)/.installed: requirements/actions.lock | $(UV)
	@test -n "$(PY311)" || { echo "Python 3.11 or newer is needed for the action server (python3 on PATH)"; exit 1; }
	@echo "==> Creating $(ACTIONS_VENV) (Python $$($(PY311) -V | cut -d' ' -f2)) from requirements/actions.lock"
	@$(UV) venv --quiet --allow-existing --python "$(PY311)" $(ACTIONS_VENV)
	@$(UV) pip sync --python $(ACTIONS_VENV)/bin/python requirements/actions.lock
	@touch $@

$(RASA_VENV)/.installed: requirements/rasa.lock | $(UV)
	@echo "==> Creating $(RASA_VENV) (Python 3.10, Rasa 3.6) from requirements/rasa.lock"
	@$(UV) venv --quiet --allow-existing --python "$(or $(PY310),3.10)" $(RASA_VENV) || { \
	  echo "Python 3.10 not found: install it (e.g. pyenv install 3.10) or put python3.10 on PATH"; exit 1; }
	@$(UV) pip sync --python $(RASA_VENV)/bin/python requirements/rasa.lock
	@# Rasa imports the project's own components (bot/) by module path, from any working directory.
	@echo "$(CURDIR)" > $$(ls -d $(RASA_VENV)/lib/python3.10/site-packages)/duka-project.pth
	@touch $@

envs: $(ACTIONS_VENV)/.installed $(RASA_VENV)/.installed

chat: envs
	@$(ACTIONS_VENV)/bin/python -m devstack.chat

interactive: envs
	@$(ACTIONS_VENV)/bin/python -m devstack.chat --interactive

# The production run (deploy/serve.py): nothing embedded, everything from the environment; Debian's nginx in front.
serve: envs proxy
	@$(ACTIONS_VENV)/bin/python -m deploy.serve $(if $(CHECK),--check)

proxy:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { echo "==> Installing Debian's nginx (apt-get)"; \
	  $(SUDO) apt-get install -y -qq nginx >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nginx >/dev/null; } || { \
	  echo "could not install nginx: run 'sudo apt-get install nginx' (make serve puts it in front of Rasa)"; exit 1; }; }

# The admin pages' test drives Debian's chromium (not a browser Playwright downloads).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@command -v chromium >/dev/null || { echo "==> Installing Debian's chromium (apt-get)"; \
	  $(SUDO) apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; } || { \
	  echo "could not install chromium: run 'sudo apt-get install chromium' (the admin browser test needs it)"; exit 1; }; }

# The conversation review, on the dev database and Redis (the conversations of `make chat`).
review: $(ACTIONS_VENV)/.installed
	@$(ACTIONS_VENV)/bin/python -m devstack.run python -m actions.cli review $(if $(SINCE),--since $(SINCE)) \
	  $(if $(LIMIT),--limit $(LIMIT)) $(if $(ADD),add $(ADD) --intent $(INTENT) $(if $(LANGUAGE),--language $(LANGUAGE)))

test: envs browser proxy
	@$(ACTIONS_VENV)/bin/python -m devstack.test

bench: envs
	@$(ACTIONS_VENV)/bin/python -m devstack.bench $(if $(QUICK),--quick)

test-stories: envs
	@$(RASA_VENV)/bin/python -m devstack.story_tests

# The cross-validation reads data/ only; tests/nlu/ is held out from it and from training.
test-nlu: envs
	@$(RASA_VENV)/bin/python -m devstack.nlu_crossval
	@$(RASA_VENV)/bin/python -m devstack.nlu_heldout

test-nlu-heldout: envs
	@$(RASA_VENV)/bin/python -m devstack.nlu_heldout

test-conversations: envs
	@$(ACTIONS_VENV)/bin/python -m devstack.walks $(if $(N),--walks $(N)) $(if $(TURNS),--turns $(TURNS)) $(if $(SEED),--seed $(SEED)) $(if $(ALL),--all)

lint: $(ACTIONS_VENV)/.installed
	@$(ACTIONS_VENV)/bin/ruff check . && $(ACTIONS_VENV)/bin/ruff format --check .

format: $(ACTIONS_VENV)/.installed
	@$(ACTIONS_VENV)/bin/ruff check --fix . && $(ACTIONS_VENV)/bin/ruff format .

migrate: $(ACTIONS_VENV)/.installed
	@$(ACTIONS_VENV)/bin/python -m devstack.run alembic upgrade head

seed: $(ACTIONS_VENV)/.installed
	@$(ACTIONS_VENV)/bin/python -m devstack.run python -m actions.cli import-catalog seed/demo-shop.csv \
	  --tenant demo-shop --name "Demo Shop" --currency KES

lock: | $(UV)
	$(UV) pip compile --quiet --generate-hashes --python "$(PY311)" requirements/actions.in -o requirements/actions.lock
	$(UV) pip compile --quiet --generate-hashes --python "$(or $(PY310),3.10)" requirements/rasa.in -o requirements/rasa.lock

clean:
	rm -rf .tools $(ACTIONS_VENV) $(RASA_VENV) .data models/*.tar.gz .ruff_cache .pytest_cache

# Purchases through the whole stack while processes are killed and servers stopped, then an audit.
test-faults: envs
	@$(ACTIONS_VENV)/bin/python -m devstack.faults $(if $(N),--purchases $(N)) $(if $(SEED),--seed $(SEED)) $(if $(RASA_KILLS),--rasa-kills $(RASA_KILLS))

# Every public route fuzzed (tests/fuzz, tests/bot/test_whatsapp_fuzz.py); make test runs a short run of the same tests.
test-fuzz: envs
	@$(ACTIONS_VENV)/bin/python -m devstack.fuzz $(if $(N),--examples $(N)) $(if $(RANDOM),--random) $(if $(K),-k $(K))
