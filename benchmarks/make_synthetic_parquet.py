"""Write a large synthetic FER2013-like data set as Parquet shards, for memory and scale benchmarks.

Run: ``python benchmarks/make_synthetic_parquet.py OUT_DIR --images N [--source PATH --split NAME]``

Every image is a seeded augmentation of one FER2013 image (default: ``/work/shared/fer2013``
split ``PublicTest``): a horizontal flip (p = 0.5), a shift of up to 3 pixels, a brightness and
contrast jitter and a little Gaussian noise; its label is the source image's. Shards of
``--shard-rows`` rows (100,000 by default) are written one row group of ``--batch`` rows at a
time, so memory stays at a few batches whatever N is. Columns: ``image`` (2304 uint8 pixels,
a fixed-size list), ``label`` (int64) and ``Usage`` (``--usage``, default ``PublicTest``).
The same seed and N give the same files. Feed the folder to ``reportgen gate --data OUT_DIR``;
over 512 MiB of decoded images (about 233k images) it needs ``--max-data-mb``.

Old ``part-*.parquet`` files in OUT_DIR are removed first; a ``.complete.json`` marker (a dot
file, which the Parquet folder loader skips) is written last, with the recipe and every shard's
size, so ``ensure_set`` can reuse a finished set and redo an interrupted one.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from reportgen.loading.data import load_dataset

SHIFT = 3  # pixels, at most, in each direction
MARKER = ".complete.json"


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a synthetic set's content: the same recipe, the same files."""

    images: int
    seed: int = 0
    shard_rows: int = 100_000
    batch: int = 10_000  # rows per row group; each batch has a random stream of its own
    usage: str = "PublicTest"
    source: str = "/work/shared/fer2013"
    split: str = "PublicTest"


def augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Images (B, 48, 48) uint8 → seeded augmentations of them, (B, 48, 48) uint8."""
    out = images.astype(np.float32)
    flip = rng.random(len(out)) < 0.5
    out[flip] = out[flip, :, ::-1]
    dy, dx = rng.integers(-SHIFT, SHIFT + 1, size=(2, len(out)))
    padded = np.pad(out, ((0, 0), (SHIFT, SHIFT), (SHIFT, SHIFT)), mode="edge")
    rows = SHIFT + dy[:, None] + np.arange(48)[None, :]
    cols = SHIFT + dx[:, None] + np.arange(48)[None, :]
    out = padded[np.arange(len(out))[:, None, None], rows[:, :, None], cols[:, None, :]]
    contrast = rng.uniform(0.8, 1.2, size=(len(out), 1, 1))
    brightness = rng.uniform(-20, 20, size=(len(out), 1, 1))
    mean = out.mean(axis=(1, 2), keepdims=True)
    out = (out - mean) * contrast + mean + brightness + rng.normal(0, 3, size=out.shape)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def write_shards(out_dir: Path, images: np.ndarray, labels: np.ndarray, n_images: int, seed: int,
                 shard_rows: int, batch: int, usage: str) -> list[Path]:
    """Write ``n_images`` augmentations of ``images`` (M, 48, 48) as shards; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([("image", pa.list_(pa.uint8(), 48 * 48)), ("label", pa.int64()),
                        ("Usage", pa.string())])
    streams = np.random.SeedSequence(seed).spawn((n_images + batch - 1) // batch)
    paths, written = [], 0
    for shard, start in enumerate(range(0, n_images, shard_rows)):
        path = out_dir / f"part-{shard:05d}.parquet"
        with pq.ParquetWriter(path, schema) as writer:
            for first in range(start, min(start + shard_rows, n_images), batch):
                count = min(batch, start + shard_rows - first, n_images - first)
                rng = np.random.default_rng(streams[first // batch])
                picks = rng.integers(0, len(images), count)
                pixels = augment(images[picks], rng).reshape(count, -1)
                column = pa.FixedSizeListArray.from_arrays(pa.array(pixels.ravel()), 48 * 48)
                writer.write_table(pa.table([column, pa.array(labels[picks]), pa.array([usage] * count)],
                                            schema=schema))
                written += count
        paths.append(path)
        print(f"{path.name}: {written:,} / {n_images:,} images", file=sys.stderr, flush=True)
    return paths


def write_set(out_dir: Path, recipe: Recipe) -> list[Path]:
    """Write the set ``recipe`` describes to ``out_dir``, replacing any shards there; its marker
    goes last. Returns the shards' paths."""
    (out_dir / MARKER).unlink(missing_ok=True)
    for stale in out_dir.glob("part-*.parquet"):
        stale.unlink()
    source = load_dataset(Path(recipe.source), recipe.split or None)
    paths = write_shards(out_dir, source.images, source.labels, recipe.images, recipe.seed,
                         recipe.shard_rows, recipe.batch, recipe.usage)
    marker = {**asdict(recipe), "shards": {path.name: path.stat().st_size for path in paths}}
    (out_dir / MARKER).write_text(json.dumps(marker, indent=1))
    return paths


def is_complete(out_dir: Path, recipe: Recipe) -> bool:
    """True when ``out_dir``'s marker records ``recipe`` and every shard it lists is there at the
    size recorded."""
    try:
        marker = json.loads((out_dir / MARKER).read_text())
    except (OSError, ValueError):
        return False
    shards = marker.pop("shards", None)
    if marker != asdict(recipe) or not isinstance(shards, dict) or not shards:
        return False
    return all((out_dir / name).is_file() and (out_dir / name).stat().st_size == size
               for name, size in shards.items())


def ensure_set(out_dir: Path, recipe: Recipe) -> bool:
    """Write the set unless a complete one of the same recipe is there; True when it wrote."""
    if is_complete(out_dir, recipe):
        return False
    write_set(out_dir, recipe)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--images", type=int, required=True)
    parser.add_argument("--source", type=Path, default=Path("/work/shared/fer2013"))
    parser.add_argument("--split", default="PublicTest")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard-rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000, help="rows per row group")
    parser.add_argument("--usage", default="PublicTest", help="the Usage value written")
    args = parser.parse_args(argv)
    if args.batch > args.shard_rows or args.shard_rows % args.batch:
        parser.error("--shard-rows must be a multiple of --batch")
    write_set(args.out_dir, Recipe(args.images, args.seed, args.shard_rows, args.batch,
                                   args.usage, str(args.source), args.split))
    return 0


if __name__ == "__main__":
    sys.exit(main())
