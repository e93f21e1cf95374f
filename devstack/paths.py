from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data"
MODELS_DIR = ROOT / "models"
RASA_VENV = ROOT / ".venv-rasa"
ACTIONS_VENV = ROOT / ".venv"
RASA_BIN = RASA_VENV / "bin" / "rasa"
# `rasa` with its one-example fits run eagerly (devstack/rasa_dev.py): the designers' loop loads faster.
RASA_DEV = [str(RASA_VENV / "bin" / "python"), "-m", "devstack.rasa_dev"]
ACTIONS_PYTHON = ACTIONS_VENV / "bin" / "python"
DEMO_CATALOG = ROOT / "seed" / "demo-shop.csv"
