"""Figure plumbing: object-API figures and PNG data URIs for embedding."""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 96  # CSS pixels per inch: a figure of w inches is shown w * DPI px wide
JPEG_QUALITY = 88  # photos (faces, overlays): no visible loss at this quality, checked by eye
SCALE = 2  # figures are saved at SCALE x their CSS size, sharp on high-density screens


def new_figure(width: float, height: float) -> Figure:
    """A Figure with an Agg canvas attached, independent of pyplot's global state."""
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def to_data_uri(figure: Figure) -> str:
    """Render ``figure`` at ``SCALE`` x its size to a PNG ``data:`` URI. The file records its
    density (``SCALE * DPI``), from which the page sets the width it is shown at."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI * SCALE)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_to_data_uri(image: np.ndarray, size: int | None = None, format: str = "PNG") -> str:
    """(h, w) grey or (h, w, 3) RGB uint8 image → data URI (``format``: PNG, JPEG or WEBP),
    upscaled (bicubic) to ``size`` pixels if given."""
    from PIL import Image

    buffer = io.BytesIO()
    picture = Image.fromarray(np.asarray(image, dtype=np.uint8))
    if size is not None:
        picture = picture.resize((size, size), Image.Resampling.BICUBIC)
    options = {"quality": JPEG_QUALITY} if format in ("JPEG", "WEBP") else {}
    picture.save(buffer, format=format, **options)
    mime = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}[format]
    return f"data:image/{mime};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
