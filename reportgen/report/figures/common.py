"""Figure plumbing: object-API figures and PNG data URIs for embedding."""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 96


def new_figure(width: float, height: float) -> Figure:
    """A Figure with an Agg canvas attached, independent of pyplot's global state."""
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def to_data_uri(figure: Figure) -> str:
    """Render ``figure`` to a PNG ``data:`` URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_to_data_uri(image: np.ndarray, size: int | None = None) -> str:
    """(h, w) uint8 grey image → PNG data URI, upscaled (bicubic) to ``size`` pixels if given."""
    from PIL import Image

    buffer = io.BytesIO()
    picture = Image.fromarray(np.asarray(image, dtype=np.uint8))
    if size is not None:
        picture = picture.resize((size, size), Image.Resampling.BICUBIC)
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
