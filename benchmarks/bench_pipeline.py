"""Benchmark the audit spine: CSV loading, evaluation, and the demo audit end to end.

Run: ``python benchmarks/bench_pipeline.py [--fer-root ../shared/fer2013]``

Each number is printed next to a baseline measured in the same run:
- CSV: the full 35,887-row Kaggle-format file (built from the image folders) against a plain
  per-row ``np.array(str.split())`` parse; peak RSS of the loader in a fresh process.
- Evaluation: 3,589 PublicTest images through our compiled forward function against
  ``model.predict`` at its default batch size (32).
- The demo audit (`reportgen audit` on the bundled sample) as a user runs it, wall time.
Targets (issue 2): CSV < 20 s and < 1.5 GB; evaluation < 10 s; demo audit < 60 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def build_full_csv(fer_root: Path, path: Path) -> int:
    """Training + PublicTest, and PublicTest again labelled PrivateTest: 35,887 rows like Kaggle's."""
    from reportgen.loading.data import load_dataset

    rows = 0
    with open(path, "w") as handle:
        handle.write("emotion,pixels,Usage\n")
        for split, usage in [("Training", "Training"), ("PublicTest", "PublicTest"),
                             ("PublicTest", "PrivateTest")]:
            dataset = load_dataset(fer_root, split)
            for image, label in zip(dataset.images, dataset.labels):
                handle.write(f"{label},{' '.join(map(str, image.ravel()))},{usage}\n")
                rows += 1
    return rows


def naive_parse(path: Path) -> np.ndarray:
    with open(path) as handle:
        next(handle)
        return np.stack([np.array(line.split(",")[1].split(), dtype=np.uint8) for line in handle])


def bench_csv(path: Path) -> None:
    code = (f"import time,resource; t=time.perf_counter(); from pathlib import Path; "
            f"from reportgen.loading.data import load_dataset; "
            f"d=load_dataset(Path('{path}'), 'Training'); "
            f"print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(d.labels))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    seconds, rss_kb, n_rows = out.stdout.split()
    start = time.perf_counter()
    naive_parse(path)
    naive = time.perf_counter() - start
    print(f"CSV load (Training split of {path.stat().st_size / 1e6:.0f} MB file, {n_rows} images): "
          f"{float(seconds):.2f} s, peak RSS {int(rss_kb) / 1024:.0f} MB; naive per-row parse of "
          f"all rows {naive:.2f} s; ratio naive/ours {naive / float(seconds):.1f}x")


def bench_evaluation(fer_root: Path, model_path: Path) -> None:
    from reportgen.loading.data import load_dataset
    from reportgen.loading.model import Classifier, InputScale, load_model

    dataset = load_dataset(fer_root, "PublicTest")
    loaded = load_model(model_path)
    classifier = Classifier(loaded, (48, 48), InputScale.RAW)
    classifier.predict(dataset.images[:8])  # trace once, as the audit does during scale probing
    start = time.perf_counter()
    classifier.predict(dataset.images)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    loaded.keras_model.predict(dataset.images[..., None].astype("float32"), verbose=0)
    stock = time.perf_counter() - start
    print(f"Evaluation of {len(dataset.labels)} images: ours {ours:.2f} s; model.predict (batch 32) "
          f"{stock:.2f} s; ratio {stock / ours:.1f}x")


def bench_demo() -> None:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "reportgen.cli", "audit", "--out", out, "--quiet"],
                       cwd=REPO, check=True, capture_output=True)
        print(f"Demo audit end to end (default methods, {out}): {time.perf_counter() - start:.1f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fer-root", type=Path, default=REPO.parent / "shared" / "fer2013")
    parser.add_argument("--model", type=Path, default=REPO / "sample_models" / "fer_cnn.keras")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "fer2013.csv"
        print(f"built {build_full_csv(args.fer_root, csv)} CSV rows")
        bench_csv(csv)
    bench_evaluation(args.fer_root, args.model)
    bench_demo()



if __name__ == "__main__":
    main()
