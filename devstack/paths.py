from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data"
MODELS_DIR = ROOT / "models"
RASA_VENV = ROOT / ".venv-rasa"
ACTIONS_VENV = ROOT / ".venv"
RASA_BIN = RASA_VENV / "bin" / "rasa"
ACTIONS_PYTHON = ACTIONS_VENV / "bin" / "python"
DEMO_CATALOG = ROOT / "seed" / "demo-shop.csv"
