"""Common corruptions (Hendrycks & Dietterich, ICLR 2019, "ImageNet-C") for grey face crops.

Every transform maps images (N, h, w) float32 in 0–255 to the same shape and range, vectorised
over the batch. Severities 1–5 take the parameters of ``imagecorruptions`` (the maintained
ImageNet-C code), adapted from its 224 px images to FER2013's 48 px crops:

- sensor noise is that of the same scene at 224 px, averaged over the (224/48)² ≈ 22 pixels
  behind each 48 px one: Gaussian and speckle sigma × 48/224 (sigma 46 and 97 grey levels at
  severities 3 and 5 → 10 and 21), Poisson photons × (224/48)² (12 and 3 → 261 and 65). Taken
  per 48 px pixel, severity 1 would already be the same scene's severity 5, far outside
  photographs (the sample models' changes under it differ by up to 28 pp on PublicTest);
  impulse noise (dead or saturated pixels) and JPEG quality stay per pixel;
- parameters that are already fractions of the side carry over: the pixelation factor (×0.4 at
  severity 3: a 48 px crop becomes 19 px) and the zoom-blur factors (up to ×1.2 and ×1.3);
- lengths in pixels are scaled by side / 224 (0.214 at 48 px): the defocus disc radius (6 and
  10 px at severities 3 and 5 → 1.29 and 2.14 px, its cells weighted by their area inside the
  disc), the motion-blur streak (taps 1 px apart with Gaussian weights of sigma 8 and 15 taps
  → taps 0.21 px apart: sigma 1.7 and 3.2 px);
- the elastic warp keeps ``imagecorruptions``' fractions of the side (shifts within ±0.5%,
  smoothed over 1%) and scales its gain alpha so the shifts have the RMS (as a fraction of the
  side) of the 224 px field averaged over each 48 px pixel: ×0.157 (not ×0.214, which would warp
  a 48 px face a third more than the same scene at 224 px; see ``_elastic_gain``).

The geometry is then the same fraction of the face at any h × w. Each corruption is the same
function of one image however many are transformed together: the random ones draw from a
counter-based generator keyed by a hash of the image's own pixels and a constant per family (the
severities of a family share their noise, so a dose–response curve compares like with like),
never from the batch position (``reportgen.bias.draws``); the linear ones are one sparse
(hw × hw) operator per size (``reportgen.bias.operators``); JPEG is Pillow's codec.

Written by hand: ``imagecorruptions`` and albumentations take one image per call with a global or
per-call generator (not seeded by the image), ``imagecorruptions`` only at 224 px lengths and
albumentations only with whole-pixel radii; on 3,589 images ours is 17× faster than the one and
2.2× than the other (``benchmarks/bench_corruptions.py``). There, against ``imagecorruptions``,
JPEG is Pillow's to the pixel, pixelation and zoom blur are within 1 grey level, impulse noise,
motion blur, elastic warp and defocus (but at severity 2) match the mean change and SSIM; the
scaled Gaussian, shot and speckle noise change images 15–30% less than the same scene's at
224 px (its clipping at black and white shifts bright and dark areas, which averaging keeps),
with SSIM within 0.03.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image
from scipy import ndimage, sparse, stats

from reportgen.bias import operators
from reportgen.bias.draws import image_uniforms, normals, random_draws, uniforms

Transform = Callable[[np.ndarray], np.ndarray]

SIDE = 224  # ImageNet-C's image side: its lengths in pixels are scaled by side / SIDE
GAUSSIAN = (0.08, 0.12, 0.18, 0.26, 0.38)  # sigma, fraction of the grey range
SHOT = (60, 25, 12, 5, 3)  # photons at white
IMPULSE = (0.03, 0.06, 0.09, 0.17, 0.27)  # share of pixels set to black or white
SPECKLE = (0.15, 0.20, 0.35, 0.45, 0.60)  # sigma, fraction of each pixel's grey
DEFOCUS = ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5))  # disc radius, alias blur (px)
MOTION = ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15))  # streak radius, sigma (px)
ZOOM = ((1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03))  # end, step
PIXELATE = (0.6, 0.5, 0.4, 0.3, 0.25)  # resolution kept, fraction of the side
JPEG = (25, 18, 15, 10, 7)  # quality
ELASTIC = (12.5, 16.25, 21.25, 25.0, 30.0)  # alpha: displacement gain (at 224 px)


def _averaged(height: int, width: int) -> float:
    """How many 224 px pixels one pixel of an h × w image covers: the same scene's sensor noise,
    averaged over them, has its sigma divided by the square root of this."""
    return SIDE * SIDE / (height * width)


def gaussian_noise(severity: int) -> Transform:
    def transform(images: np.ndarray) -> np.ndarray:
        sigma = 255.0 * GAUSSIAN[severity - 1] / np.sqrt(_averaged(*images.shape[1:]))
        return np.clip(images + np.float32(sigma) * normals(images, "gaussian_noise"), 0, 255)

    return transform


def speckle_noise(severity: int) -> Transform:
    def transform(images: np.ndarray) -> np.ndarray:
        sigma = SPECKLE[severity - 1] / np.sqrt(_averaged(*images.shape[1:]))
        return np.clip(images * (1 + np.float32(sigma) * normals(images, "speckle_noise")), 0, 255)

    return transform


def impulse_noise(severity: int) -> Transform:
    share = IMPULSE[severity - 1]  # per pixel of the image itself: dead or saturated pixels

    def transform(images: np.ndarray) -> np.ndarray:
        draws = uniforms(random_draws(images, "impulse_noise", bits=32))
        return np.where(draws < share / 2, 0.0, np.where(draws < share, 255.0, images))

    return transform


@lru_cache(maxsize=8)
def _poisson_table(photons: int) -> np.ndarray:
    """(256, 2^12) uint16: the Poisson quantile of each grey level's photon count at each of
    2^12 equally likely uniform draws (probabilities exact to 1/2^12)."""
    means = np.arange(256) / 255.0 * photons
    counts = np.arange(int(photons + 12 * np.sqrt(photons) + 12))
    cdf = stats.poisson.cdf(counts[None, :], means[:, None])
    draws = (np.arange(1 << 12) + 0.5) / (1 << 12)
    table = np.stack([np.searchsorted(row, draws) for row in cdf]).astype(np.uint16)
    table.setflags(write=False)
    return table


def shot_noise(severity: int) -> Transform:
    def transform(images: np.ndarray) -> np.ndarray:
        photons = round(SHOT[severity - 1] * _averaged(*images.shape[1:]))  # summed over them
        levels = np.clip(np.rint(images), 0, 255).astype(np.intp)  # the Poisson mean's grey
        counts = _poisson_table(photons)[levels, random_draws(images, "shot_noise") >> 4]
        return np.minimum(counts * np.float32(255.0 / photons), 255.0)

    return transform


def defocus_blur(severity: int) -> Transform:
    radius, alias = DEFOCUS[severity - 1]

    def build(height: int, width: int) -> sparse.csr_matrix:
        scale = min(height, width) / SIDE
        return operators.correlation(height, width, operators.disc(radius * scale, alias * scale))

    return operators.linear(build)


def zoom_blur(severity: int) -> Transform:
    factors = np.arange(1, *ZOOM[severity - 1])  # as ImageNet-C: 1 itself, and the image again

    def build(height: int, width: int) -> sparse.csr_matrix:
        rows = [operators.zoom_rows(height, factor) for factor in factors]
        cols = [operators.zoom_rows(width, factor) for factor in factors]
        total = sum((operators.separable(r, c) for r, c in zip(rows, cols)),
                    sparse.identity(height * width, np.float32, format="csr"))
        return sparse.csr_matrix(total / (len(factors) + 1), dtype=np.float32)

    return operators.linear(build)


def pixelate(severity: int) -> Transform:
    kept = PIXELATE[severity - 1]

    def build(height: int, width: int) -> sparse.csr_matrix:
        return operators.separable(operators.pixelate_rows(height, max(1, int(height * kept))),
                                   operators.pixelate_rows(width, max(1, int(width * kept))))

    return operators.linear(build)


def motion_blur(severity: int) -> Transform:
    radius, sigma = MOTION[severity - 1]

    def transform(images: np.ndarray) -> np.ndarray:
        spacing = min(images.shape[1:]) / SIDE  # ImageNet-C's taps are 1 px apart at 224 px
        degrees = 3 * np.rint(30 * image_uniforms(images, "motion_blur") - 15).astype(int)
        out = np.empty(images.shape, np.float32)
        for angle in np.unique(degrees):  # within ±45°, in 3° steps: one kernel each
            chosen = degrees == angle
            kernel = operators.streak(radius, sigma, int(angle), spacing)
            out[chosen] = ndimage.correlate(np.asarray(images[chosen], np.float32),
                                            kernel[None], mode="nearest")
        return np.clip(out, 0, 255)

    return transform


def _smoothing(sigma: float, box: float = 1.0) -> np.ndarray:
    """1-D weights: a Gaussian (sigma px, truncated at 3 sigma, as ``imagecorruptions``), then a
    mean over a window of ``box`` px (fractional at its ends)."""
    radius = int(3 * sigma + 0.5)
    gauss = np.exp(-(np.arange(-radius, radius + 1) ** 2) / (2 * sigma**2))
    half = int(np.ceil(box / 2)) + 1
    cells = np.arange(-half, half + 1)
    window = np.clip(np.minimum(cells + 0.5, box / 2) - np.maximum(cells - 0.5, -box / 2), 0, 1)
    return np.convolve(gauss / gauss.sum(), window / window.sum())


@lru_cache(maxsize=8)
def _elastic_gain(size: int) -> float:
    """What multiplies alpha at ``size`` px so that the shifts have the RMS, in fractions of the
    side, of ImageNet-C's 224 px field averaged over each of our pixels (the same scene seen at
    ``size`` px): the ratio of the two smoothings' 2-D gains (0.157 at 48 px, ×0.73 of 48/224)."""
    fine = _smoothing(0.01 * SIDE, box=SIDE / size)
    return float((fine**2).sum() / (_smoothing(0.01 * size) ** 2).sum())


def elastic_transform(severity: int) -> Transform:
    alpha = ELASTIC[severity - 1]

    def transform(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, np.float32)
        height, width = images.shape[1:]
        grid = np.mgrid[0:height, 0:width].astype(np.float32)
        coordinates, margin = [], 1
        for stream, size in enumerate((height, width)):
            # as ``imagecorruptions``: uniform shifts within ±0.5% of the side, smoothed over 1%
            # of it (per axis), times alpha, here times the gain of the same scene at this size
            gain = 0.005 * size * alpha * _elastic_gain(size)  # the largest shift, px
            draws = uniforms(random_draws(images, "elastic", bits=32, stream=stream))
            field = ndimage.gaussian_filter(((2 * draws - 1) * gain).astype(np.float32),
                                            (0.0, 0.01 * height, 0.01 * width),
                                            mode="reflect", truncate=3)
            coordinates.append(grid[stream] + field)
            margin = max(margin, int(np.ceil(gain)) + 1)
        return np.clip(operators.bilinear(images, *coordinates, margin), 0, 255)

    return transform


def _jpeg(images: np.ndarray, quality: int) -> np.ndarray:
    """Pillow's JPEG round trip of each uint8 image (N, h, w) at ``quality``."""
    out = np.empty(images.shape, np.float32)
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=quality)
        out[i] = np.asarray(Image.open(buffer))
    return out


def jpeg_compression(severity: int) -> Transform:
    quality = JPEG[severity - 1]

    def transform(images: np.ndarray) -> np.ndarray:
        images = np.clip(np.rint(images), 0, 255).astype(np.uint8)
        n_images, height, width = images.shape
        if height % 8 or width % 8:  # padded edge blocks: each image on its own
            return _jpeg(images, quality)
        # A grey JPEG codes each 8 × 8 block on its own, so images side by side in one strip
        # decode to exactly their own round trips: one codec call per 1024 images, not each
        strip = images.transpose(1, 0, 2).reshape(1, height, n_images * width)
        out = np.concatenate([_jpeg(strip[:, :, start : start + 1024 * width], quality)
                              for start in range(0, n_images * width, 1024 * width)], axis=2)
        return out[0].reshape(height, n_images, width).transpose(1, 0, 2)

    return transform


@dataclass(frozen=True)
class Corruption:
    """One ImageNet-C family: its transform and its words at each severity (1–5)."""

    make: Callable[[int], Transform]
    describe: Callable[[int], str]  # completes "… raises X predictions"


def _elastic_rms(severity: int, side: int = 48) -> float:
    """The root-mean-square shift (px) along each axis of ``elastic_transform`` at ``side``."""
    spread = 0.005 * side / np.sqrt(3)  # the standard deviation of the uniform draws
    smoothing = np.sqrt((_smoothing(0.01 * side) ** 2).sum())  # 1-D, so squared for 2-D
    return float(spread * smoothing**2 * ELASTIC[severity - 1] * _elastic_gain(side))


def _percent(value: float) -> str:
    return f"{value:.0%}"


CORRUPTIONS: dict[str, Corruption] = {
    "gaussian_noise": Corruption(gaussian_noise, lambda s: (
        f"adding Gaussian noise (sigma {255 * GAUSSIAN[s - 1] * 48 / SIDE:.0f} grey levels "
        "at 48 px)")),
    "shot_noise": Corruption(shot_noise, lambda s: (
        f"adding shot noise (Poisson, {round(SHOT[s - 1] * _averaged(48, 48))} photons at white "
        "at 48 px)")),
    "impulse_noise": Corruption(impulse_noise, lambda s: (
        f"adding impulse noise ({_percent(IMPULSE[s - 1])} of pixels set to black or white)")),
    "speckle_noise": Corruption(speckle_noise, lambda s: (
        f"adding speckle noise (sigma {_percent(SPECKLE[s - 1] * 48 / SIDE)} of each pixel's grey "
        "at 48 px)")),
    "defocus_blur": Corruption(defocus_blur, lambda s: (
        f"defocusing images (disc radius {DEFOCUS[s - 1][0] * 48 / SIDE:.1f} px at 48 px)")),
    "motion_blur": Corruption(motion_blur, lambda s: (
        f"motion-blurring images (a streak of up to {2 * MOTION[s - 1][0] * 48 / SIDE:.0f} px "
        "at 48 px, at a random angle)")),
    "zoom_blur": Corruption(zoom_blur, lambda s: (
        f"zoom-blurring images (averaging zooms up to ×{np.arange(1, *ZOOM[s - 1])[-1]:.2f})")),
    "pixelate": Corruption(pixelate, lambda s: (
        f"pixelating images (to {_percent(PIXELATE[s - 1])} of the side, "
        f"{int(48 * PIXELATE[s - 1])} px for a 48 px crop)")),
    "jpeg_compression": Corruption(jpeg_compression, lambda s: (
        f"JPEG-compressing images (quality {JPEG[s - 1]})")),
    "elastic_transform": Corruption(elastic_transform, lambda s: (
        f"warping images elastically (random local shifts of {_elastic_rms(s):.2f} px RMS "
        "at 48 px)")),
}
