"""How 0–255 pixels are scaled before they enter a model (kept free of TensorFlow)."""

from __future__ import annotations

from enum import Enum


class InputScale(str, Enum):
    """How 0–255 pixels are scaled before they enter the model."""

    AUTO = "auto"
    RAW = "0-255"
    UNIT = "0-1"
    SYMMETRIC = "-1-1"
