"""Benchmark the ImageNet-C corruptions against the maintained libraries: speed and statistics.

Run, in a throwaway environment that has the libraries (they pin OpenCV; they are not
reportgen's dependencies)::

    python3 -m venv /tmp/corrvenv
    /tmp/corrvenv/bin/pip install imagecorruptions albumentations scikit-image
    PYTHONPATH=. /tmp/corrvenv/bin/python benchmarks/bench_corruptions.py [--data DIR] [--n N]

Defaults: the 3,589 images of ``/work/shared/fer2013/PublicTest`` (class folders of 48 × 48
JPEGs), else as many smooth synthetic faces. Prints:

- (a) speed, at severity 3: ``reportgen.bias.corruptions`` on the whole split in one call,
  against ``imagecorruptions.corrupt`` and the closest albumentations transform called once
  per image (their only per-image deterministic use: a call per image with its own seed);
- (b) statistics at each severity 1–5 on ``--n-stats`` images: the mean absolute change (grey
  levels) and the mean SSIM to the original, ours against the reference:

  - impulse noise, pixelation, zoom blur, JPEG: ``imagecorruptions`` on the same 48 px images
    (their parameters are per pixel or fractions of the side, so they carry over unchanged);
  - Gaussian, shot and speckle noise, defocus, motion blur, elastic warp (scaled to 48 px as the
    same scene seen at 224 px; see ``reportgen.bias.corruptions``): the *same scene* at 224 px,
    i.e. the image upsampled to 224 px (bicubic), corrupted by ``imagecorruptions`` and reduced
    back to 48 px (area), against ours on the plain round trip (the up and down sampling
    removes some detail, so both are measured from that same 48 px image);
  - exact agreement where the reference is deterministic: JPEG against Pillow at the same
    quality (must be 0 pixels apart), pixelation and zoom blur against ``imagecorruptions``
    (≤ 1 grey level: it truncates to uint8 and Pillow rounds between its passes).

A row agrees when both statistics are within the tolerance below.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from reportgen.bias.corruptions import CORRUPTIONS, JPEG, SIDE

MAD_TOLERANCE = (0.15, 1.0)  # relative, or absolute in grey levels, whichever is larger
SSIM_TOLERANCE = 0.05
SAME_SCENE = {"gaussian_noise", "shot_noise", "speckle_noise", "defocus_blur", "motion_blur",
              "elastic_transform"}
EXACT = {"pixelate", "zoom_blur"}  # deterministic: compared pixel by pixel too


def load_images(data: Path, n: int) -> np.ndarray:
    """(n, 48, 48) float32 from a folder of class folders of images, else synthetic faces."""
    files = sorted(data.glob("*/*.*"))[:n] if data.is_dir() else []
    if files:
        return np.stack([np.asarray(Image.open(f).convert("L"), np.float32) for f in files])
    from scipy.ndimage import gaussian_filter

    print(f"{data} not found: {n} synthetic smooth faces")
    rng = np.random.default_rng(0)
    noise = gaussian_filter(rng.normal(size=(n, 48, 48)), sigma=(0, 2, 2))
    noise /= noise.std(axis=(1, 2), keepdims=True)
    return np.rint(np.clip(rng.uniform(70, 180, (n, 1, 1)) + 40 * noise, 0, 255)).astype(
        np.float32)


def library(name: str, image: np.ndarray, severity: int) -> np.ndarray:
    """``imagecorruptions`` on one grey image (h, w) in 0–255 → (h, w) float32 (its channel 0)."""
    from imagecorruptions import corrupt

    out = corrupt(np.clip(np.rint(image), 0, 255).astype(np.uint8), severity=severity,
                  corruption_name=name)
    return out[..., 0].astype(np.float32)


def albumentations_transforms(severity: int) -> dict:
    """The closest albumentations transform to each family at ``severity`` (at 48 px)."""
    import albumentations as A
    import cv2

    from reportgen.bias import corruptions as c

    scale = 48 / SIDE
    radius, alias = c.DEFOCUS[severity - 1]
    return {
        "gaussian_noise": A.GaussNoise(std_range=(c.GAUSSIAN[severity - 1],) * 2, p=1),
        "shot_noise": A.ShotNoise(scale_range=(1 / c.SHOT[severity - 1],) * 2, p=1),
        "impulse_noise": A.SaltAndPepper(amount=(c.IMPULSE[severity - 1],) * 2, p=1),
        "defocus_blur": A.Defocus(radius=(max(1, round(radius * scale)),) * 2,
                                  alias_blur=(alias * scale,) * 2, p=1),
        "motion_blur": A.MotionBlur(blur_limit=(2 * round(c.MOTION[severity - 1][0] * scale) + 1,)
                                    * 2, angle_range=(0, 90), p=1),
        "zoom_blur": A.ZoomBlur(max_factor=(c.ZOOM[severity - 1][0],) * 2,
                                step_factor=(c.ZOOM[severity - 1][1],) * 2, p=1),
        "pixelate": A.Downscale(scale_range=(c.PIXELATE[severity - 1],) * 2, p=1,
                                interpolation_pair={"downscale": cv2.INTER_AREA,
                                                    "upscale": cv2.INTER_NEAREST}),
        "jpeg_compression": A.ImageCompression(quality_range=(c.JPEG[severity - 1],) * 2, p=1),
        "elastic_transform": A.ElasticTransform(alpha=2.0, sigma=1.0, p=1),
    }


def time_speed(images: np.ndarray) -> None:
    print(f"\n(a) speed at severity 3 on {len(images):,} images of 48 × 48 (seconds; ×: how "
          "many times faster ours is)")
    print(f"{'family':<20s}{'ours':>8s}{'imagecorr.':>12s}{'×':>7s}{'albument.':>11s}{'×':>7s}")
    uint8 = images.astype(np.uint8)
    album = albumentations_transforms(3)
    totals = np.zeros(3)
    for name, corruption in CORRUPTIONS.items():
        transform = corruption.make(3)
        transform(images[:8])  # build the operators and tables once, as the gate does
        start = time.perf_counter()
        transform(images)
        ours = time.perf_counter() - start
        np.random.seed(0)
        start = time.perf_counter()
        for image in images:
            library(name, image, 3)
        theirs = time.perf_counter() - start
        other = np.nan
        if name in album:
            start = time.perf_counter()
            for i, image in enumerate(uint8):
                album[name].set_random_seed(i)
                album[name](image=image)
            other = time.perf_counter() - start
        totals += [ours, theirs, 0 if np.isnan(other) else other]
        print(f"{name:<20s}{ours:8.2f}{theirs:12.2f}{theirs / ours:7.0f}{other:11.2f}"
              f"{other / ours:7.0f}")
    print(f"{'all ten':<20s}{totals[0]:8.2f}{totals[1]:12.2f}{totals[1] / totals[0]:7.0f}"
          f"{totals[2]:11.2f}{'':>7s}  (albumentations: nine, no speckle)")


def ssim(first: np.ndarray, second: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(np.mean([structural_similarity(a, b, data_range=255.0)
                          for a, b in zip(first, second)]))


def same_scene(name: str, images: np.ndarray, severity: int) -> tuple[np.ndarray, np.ndarray]:
    """The library's corruption of each image seen at 224 px, and the plain round trip."""
    def resize(image: np.ndarray, side: int, how: Image.Resampling) -> np.ndarray:
        return np.asarray(Image.fromarray(image).resize((side, side), how), np.float32)

    corrupted, plain = [], []
    for image in images:
        big = np.clip(resize(image, SIDE, Image.Resampling.BICUBIC), 0, 255)
        plain.append(resize(big, 48, Image.Resampling.BOX))
        corrupted.append(resize(library(name, big, severity), 48, Image.Resampling.BOX))
    return np.stack(corrupted), np.stack(plain)


def agree(ours: float, theirs: float, ssim_ours: float, ssim_theirs: float) -> bool:
    mad_ok = abs(ours - theirs) <= max(MAD_TOLERANCE[0] * theirs, MAD_TOLERANCE[1])
    return mad_ok and abs(ssim_ours - ssim_theirs) <= SSIM_TOLERANCE


def exact_note(name: str, ours: np.ndarray, images: np.ndarray, severity: int,
               theirs: np.ndarray) -> str:
    if name == "jpeg_compression":
        pillow = []
        for image in images.astype(np.uint8):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, "JPEG", quality=JPEG[severity - 1])
            pillow.append(np.asarray(Image.open(buffer), np.float32))
        return f"Pillow: {int((ours != np.stack(pillow)).sum())} px differ"
    if name in EXACT:
        return f"max |Δ| {np.abs(np.floor(ours + 1e-3) - theirs).max():.0f} grey level"
    return ""


def compare_statistics(images: np.ndarray) -> int:
    print(f"\n(b) statistics on {len(images)} images: mean |change| (grey levels) and mean SSIM "
          f"to the original; tolerance {MAD_TOLERANCE[0]:.0%} or {MAD_TOLERANCE[1]:g} grey level "
          f"(|change|), {SSIM_TOLERANCE} (SSIM)")
    print(f"{'family':<20s}{'sev':>4s}{'|Δ| ours':>10s}{'ref':>8s}{'SSIM ours':>11s}{'ref':>7s}"
          f"  {'agrees':<7s}note")
    disagreements = 0
    for name, corruption in CORRUPTIONS.items():
        for severity in range(1, 6):
            np.random.seed(severity)
            if name in SAME_SCENE:  # both corrupt the round trip: it has lost the finest detail
                theirs, base = same_scene(name, images, severity)
                how = "same scene at 224 px"
            else:
                theirs = np.stack([library(name, image, severity) for image in images])
                base, how = images, ""
            ours = corruption.make(severity)(base)
            stats = (np.abs(ours - base).mean(), np.abs(theirs - base).mean(),
                     ssim(ours, base), ssim(theirs, base))
            ok = agree(*stats)
            disagreements += not ok
            note = exact_note(name, ours, images, severity, theirs) or how
            print(f"{name:<20s}{severity:4d}{stats[0]:10.2f}{stats[1]:8.2f}{stats[2]:11.3f}"
                  f"{stats[3]:7.3f}  {'yes' if ok else 'NO':<7s}{note}")
    print(f"\n{disagreements} of {5 * len(CORRUPTIONS)} rows outside the tolerance")
    return disagreements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/fer2013/PublicTest"))
    parser.add_argument("--n", type=int, default=3589, help="images for the timing")
    parser.add_argument("--n-stats", type=int, default=300, help="images for the statistics")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    images = load_images(args.data, args.n)
    if not args.skip_speed:
        time_speed(images)
    compare_statistics(images[:: max(1, len(images) // args.n_stats)][: args.n_stats])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
