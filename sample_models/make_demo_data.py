"""Build a small FER2013 demo CSV in the original Kaggle ``fer2013.csv`` format.

Usage::

    python sample_models/make_demo_data.py /work/shared/fer2013/PublicTest \
        --out sample_models/fer2013_demo.csv.gz --per-class 50 --seed 0

Takes a stratified, seeded sample of ``--per-class`` images from each of the 7 class folders of
an image-folder split (``angry, disgust, fear, happy, sad, surprise, neutral``): the files of a
class are sorted by name and ``numpy.random.default_rng(seed).choice(n, per_class,
replace=False)`` picks the sample (one generator, drawn class by class in index order). Rows are
written grouped by class index, in the drawn order within each class.

Output columns (header ``emotion,pixels,Usage``): ``emotion`` is the FER2013 class index
(0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral), ``pixels`` is 2304
space-separated integers 0-255 in row-major order (the Pillow-decoded JPEG, mode ``L``), and
``Usage`` is ``--usage`` (default ``PublicTest``). The file is gzip-compressed with mtime 0 so
the bytes are reproducible. After writing, the file is parsed back and every row is compared
with the decoded JPEG; the script exits non-zero on any mismatch.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def decode(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        a = np.asarray(im.convert("L"), dtype=np.uint8)
    if a.shape != (48, 48):
        raise SystemExit(f"{path}: expected 48x48, got {a.shape}")
    return a


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("split_dir")
    ap.add_argument("--out", default="sample_models/fer2013_demo.csv.gz")
    ap.add_argument("--per-class", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--usage", default="PublicTest")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    root = Path(args.split_dir)
    rows: list[tuple[int, np.ndarray, Path]] = []
    for idx, name in enumerate(CLASSES):
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
        if len(files) < args.per_class:
            raise SystemExit(f"class {name}: only {len(files)} images, need {args.per_class}")
        for j in rng.choice(len(files), size=args.per_class, replace=False):
            rows.append((idx, decode(files[j]), files[j]))

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["emotion", "pixels", "Usage"])
    for idx, a, _ in rows:
        w.writerow([idx, " ".join(map(str, a.reshape(-1).tolist())), args.usage])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
        gz.write(buf.getvalue().encode("ascii"))

    # Round-trip check.
    with gzip.open(out, "rt", newline="") as fh:
        r = csv.reader(fh)
        header = next(r)
        back = list(r)
    assert header == ["emotion", "pixels", "Usage"], header
    assert len(back) == len(rows), (len(back), len(rows))
    for (idx, a, p), (e, pix, usage) in zip(rows, back):
        b = np.array(pix.split(" "), dtype=np.int64)
        if int(e) != idx or usage != args.usage or b.size != 2304 or b.min() < 0 or b.max() > 255 \
                or not np.array_equal(b.reshape(48, 48), decode(p).astype(np.int64)):
            print(f"round-trip mismatch for {p}", file=sys.stderr)
            return 1
    counts = np.bincount([int(e) for e, _, _ in back], minlength=7).tolist()
    print(f"wrote {out}: {len(back)} rows, per-class {counts}, {out.stat().st_size} bytes; round-trip OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
