"""Where the shipped demo models and data live: `resources/` at the repository root."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
MODELS_DIR = RESOURCES / "models"
DATA_DIR = RESOURCES / "data"
DEFAULT_MODEL = MODELS_DIR / "en_hi_bahdanau.safetensors"
