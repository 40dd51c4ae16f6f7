"""Linear image operators and resampling for the corruptions, exact per image at any batch size.

A linear corruption (defocus, zoom blur, pixelation) is one sparse (hw × hw) matrix per image
size, built once from the reference construction (a kernel with OpenCV's mirrored edges,
``scipy.ndimage.zoom``, Pillow's resize) and applied to a batch as (N, hw) @ (hw, hw): each
output pixel sums its inputs in a fixed order, so an image gives the same bits alone or in a block.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from PIL import Image
from scipy import ndimage, sparse

Transform = Callable[[np.ndarray], np.ndarray]


def linear(build: Callable[[int, int], sparse.csr_matrix]) -> Transform:
    """The transform of images (N, h, w) by ``build(h, w)``, an (hw, hw) operator M applied as
    ``image.ravel() @ M`` (built once per size)."""
    cached = lru_cache(maxsize=4)(build)

    def transform(images: np.ndarray) -> np.ndarray:
        n_images, height, width = images.shape
        flat = np.asarray(images, np.float32).reshape(n_images, -1)
        return np.clip(flat @ cached(height, width), 0, 255).reshape(images.shape)

    return transform


def _mirror(index: np.ndarray, size: int) -> np.ndarray:
    """Indices reflected about the edge pixels (d c b | a b c d | c b a), as OpenCV's default."""
    if size == 1:
        return np.zeros_like(index)
    period = 2 * (size - 1)
    index = np.abs(index) % period
    return np.where(index >= size, period - index, index)


def correlation(height: int, width: int, kernel: np.ndarray) -> sparse.csr_matrix:
    """(hw, hw) operator: the image correlated with ``kernel`` (odd sides), mirrored edges."""
    radius_y, radius_x = kernel.shape[0] // 2, kernel.shape[1] // 2
    taps_y, taps_x = np.nonzero(kernel)
    rows, cols = np.mgrid[0:height, 0:width]
    sources = (_mirror(rows[..., None] + taps_y - radius_y, height) * width
               + _mirror(cols[..., None] + taps_x - radius_x, width))
    targets = np.broadcast_to((rows * width + cols)[..., None], sources.shape)
    weights = np.broadcast_to(kernel[taps_y, taps_x], sources.shape)
    size = height * width
    return sparse.csr_matrix((weights.ravel(), (sources.ravel(), targets.ravel())),
                             shape=(size, size), dtype=np.float32)


def separable(rows: np.ndarray, cols: np.ndarray) -> sparse.csr_matrix:
    """(hw, hw) operator of ``rows @ image @ cols.T`` for (h, h) ``rows`` and (w, w) ``cols``."""
    return sparse.csr_matrix(sparse.kron(rows, cols).T, dtype=np.float32)


def disc(radius: float, alias_sigma: float, oversample: int = 16) -> np.ndarray:
    """A flat disc kernel, each cell weighted by its share inside the circle (so radii of a
    pixel or two stay graded), softened by ``alias_sigma`` px as ImageNet-C's; sums to 1."""
    extent = int(np.ceil(radius + 3 * alias_sigma))
    steps = (np.arange(oversample) + 0.5) / oversample - 0.5
    grid = (np.arange(-extent, extent + 1)[:, None] + steps[None, :]).reshape(-1)
    inside = grid[:, None] ** 2 + grid[None, :] ** 2 <= radius**2
    side = 2 * extent + 1
    cells = inside.reshape(side, oversample, side, oversample).mean(axis=(1, 3))
    kernel = ndimage.gaussian_filter(cells, alias_sigma, mode="constant")
    return kernel / kernel.sum()


def zoom_rows(size: int, factor: float) -> np.ndarray:
    """(size, size): ImageNet-C's clipped zoom along one axis (``scipy.ndimage.zoom``, linear,
    of the central size / factor, cropped from the top-left), as a matrix."""
    kept = int(np.ceil(size / factor))
    top = (size - kept) // 2
    return ndimage.zoom(np.eye(size)[top : top + kept], (factor, 1), order=1)[:size]


def pixelate_rows(size: int, reduced: int) -> np.ndarray:
    """(size, size): Pillow's BOX reduction to ``reduced`` rows, then NEAREST back to ``size``."""
    identity = Image.fromarray(np.eye(size, dtype=np.float32))
    down = identity.resize((size, reduced), Image.Resampling.BOX)
    return np.asarray(down.resize((size, size), Image.Resampling.NEAREST), np.float64)


@lru_cache(maxsize=64)
def streak(radius: int, sigma: float, degrees: int, spacing: float) -> np.ndarray:
    """ImageNet-C's motion kernel: 2·radius + 1 taps ``spacing`` px apart from the pixel itself
    along ``degrees``, Gaussian weights (sigma, in taps), each spread bilinearly over 4 cells."""
    taps = np.arange(2 * radius + 1)
    weights = np.exp(-(taps**2) / (2 * sigma**2))
    angle = np.deg2rad(degrees)
    ys, xs = taps * spacing * np.sin(angle), taps * spacing * np.cos(angle)
    extent = int(np.ceil(taps[-1] * spacing)) + 1
    kernel = np.zeros((2 * extent + 1, 2 * extent + 1))
    top, left = np.floor(ys), np.floor(xs)
    down, right = ys - top, xs - left
    for dy, dx, share in ((0, 0, (1 - down) * (1 - right)), (1, 0, down * (1 - right)),
                          (0, 1, (1 - down) * right), (1, 1, down * right)):
        np.add.at(kernel, ((top + dy + extent).astype(int), (left + dx + extent).astype(int)),
                  weights * share)
    return (kernel / kernel.sum()).astype(np.float32)


def bilinear(images: np.ndarray, rows: np.ndarray, cols: np.ndarray, margin: int) -> np.ndarray:
    """Images (N, h, w) sampled linearly at (N, h, w) fractional rows and columns, reflected
    about the edges (c b a | a b c) up to ``margin`` px outside."""
    n_images, height, width = images.shape
    padded = np.pad(images, ((0, 0), (margin, margin), (margin, margin)), mode="symmetric")
    rows = np.clip(rows + margin, 0, height + 2 * margin - 1.001)
    cols = np.clip(cols + margin, 0, width + 2 * margin - 1.001)
    top, left = np.floor(rows), np.floor(cols)
    down, right = rows - top, cols - left
    stride = width + 2 * margin
    corner = (np.arange(n_images)[:, None, None] * padded[0].size
              + top.astype(np.intp) * stride + left.astype(np.intp))
    flat = padded.ravel()
    upper = (1 - right) * flat[corner] + right * flat[corner + 1]
    lower = (1 - right) * flat[corner + stride] + right * flat[corner + stride + 1]
    return (1 - down) * upper + down * lower
