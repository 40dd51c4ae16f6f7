"""Wall time and memory of ``reportgen gate`` on synthetic audits of 30k to 1M images (issue 17).

Run (from the repository root)::

    python3 -m uv run python benchmarks/bench_scale.py [--sizes 30000,300000,1000000]
        [--executors local,ray] [--ray-address ADDR] [--data-root /work/synthetic]
        [--cores N] [--nodes 1,4,16,64] [--cores-per-node 16] [--timeout 10800]
        [--json OUT.json] [--skip-missing-executor] [--prepare-only]

For each size N a synthetic Parquet set is written once to ``DATA_ROOT/nN/`` by
``make_synthetic_parquet`` (shards of at most 50,000 rows, ~115 MB decoded each) and reused
while its ``.complete.json`` marker matches N, the seed and the source. ``--prepare-only``
writes the sets and stops. Each executor then runs ``python -m reportgen gate --executor E`` on it as a fresh
child; exit 1 (checks failed) counts as a run, any other failure stops that executor. With
``--skip-missing-executor`` a gate that rejects ``--executor E`` is reported and skipped.

A baseline child (imports TensorFlow and loads the model, no data) is measured first, three
times; its median peak is the baseline.

Columns of the run table:
  images      images in the audit
  executor    the ``--executor`` passed to gate
  wall s      the child's wall time, start to exit
  driver MB   peak RSS of the gate process itself (``ru_maxrss`` from ``os.wait4``)
  tree MB     peak of the summed RSS of the gate process and all its descendants (Ray's
              raylet and workers), sampled every 0.5 s with psutil; shared pages such as Ray's
              object store count once per process that maps them, so this over-counts. With
              ``--ray-address`` the remote cluster's processes are not in the tree. Being
              sampled, it can miss a short peak and read below ``driver MB``.
  x base      driver peak / baseline peak
  B/image     (driver peak - baseline peak) / images, in bytes; at small sizes mostly gate's
              fixed memory above the baseline, spread over few images
  img/s       images / wall s
  img/s/core  img/s / cores of this machine (``--cores``, default ``os.cpu_count()``)

``--json`` writes the same rows (plus ``tree_bytes_per_image``, from the tree peak) and the
projection, after every run.

The projection table gives, per executor, the cost per image in core-seconds (wall x cores /
images, less a fixed overhead: with several sizes, the intercept of the line through the
smallest and the largest run; with one size, none) and the projected wall time of
``--project-images`` images on clusters of ``--nodes`` nodes of ``--cores-per-node`` cores. It
assumes per-image work scales linearly over all cores and the driver's overhead stays fixed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from bench_memory import REPO, ChildRun, run_child
from make_synthetic_parquet import Recipe, ensure_set

SHARD_ROWS = 50_000  # one shard decoded is 50,000 x 2304 B, about 115 MB
BASELINE = """
import sys
from pathlib import Path
from reportgen.loading.model import load_model
load_model(Path(sys.argv[1]))
"""


# -- data sets ---------------------------------------------------------------------------------

def dataset_dir(root: Path, n_images: int) -> Path:
    return root / f"n{n_images}"


def recipe_for(n_images: int, seed: int, source: Path, split: str) -> Recipe:
    return Recipe(n_images, seed, SHARD_ROWS, source=str(source), split=split)


def max_data_mb(n_images: int) -> int:
    """A ``--max-data-mb`` that admits ``n_images`` decoded 48x48 uint8 images, with room."""
    return math.ceil(n_images * 48 * 48 * 1.25 / 2**20) + 64


# -- measuring ---------------------------------------------------------------------------------

class MissingExecutor(Exception):
    """gate does not know ``--executor``, or refuses this executor (unknown, or not installed)."""


class BenchFailure(Exception):
    """A child failed: any exit but 0 and 1 (checks failed), or it ran past ``--timeout``."""


@dataclass(frozen=True)
class Run:
    """One gate run: ``driver_mb`` from ``ru_maxrss``, ``tree_mb`` from sampling the tree."""

    images: int
    executor: str
    wall_s: float
    driver_mb: float
    tree_mb: float
    exit_code: int


class TreePeak:
    """Peak of the summed RSS of a process and all its descendants, sampled in a thread."""

    def __init__(self, interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, pid: int) -> None:
        self._thread = threading.Thread(target=self._sample, args=(pid,), daemon=True)
        self._thread.start()

    def stop(self) -> float:
        """Stop sampling; return the peak in MB."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.peak_bytes / 2**20

    def _sample(self, pid: int) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, tree_rss(pid))
            self._stop.wait(self.interval_s)


def tree_rss(pid: int) -> int:
    """Summed RSS in bytes of ``pid`` and its descendants; 0 once it is gone."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:  # it ended between the listing and the read
            pass
    return total


def gate_command(model: Path, data: Path, out: Path, n_images: int, executor: str,
                 ray_address: str | None, reference: Path | None = None) -> list[str]:
    command = [sys.executable, "-m", "reportgen", "gate", "--model", str(model), "--data",
               str(data), "--out", str(out), "--quiet", "--max-data-mb", str(max_data_mb(n_images)),
               "--executor", executor]
    command += ["--reference-model", str(reference)] if reference else []
    return command + (["--ray-address", ray_address] if ray_address else [])


def run_gate(model: Path, data: Path, n_images: int, executor: str, ray_address: str | None,
             timeout_s: float, reference: Path | None = None) -> Run:
    """One gate run as a fresh child; raises MissingExecutor or BenchFailure."""
    tree = TreePeak()
    with tempfile.TemporaryDirectory() as out:
        command = gate_command(model, data, Path(out), n_images, executor, ray_address, reference)
        child = run_child(command, timeout_s, on_start=tree.start)
    tree_mb = tree.stop()
    check_exit(child, timeout_s)
    return Run(n_images, executor, child.seconds, child.peak_kb / 1024, tree_mb, child.returncode)


def check_exit(child: ChildRun, timeout_s: float) -> None:
    """Raise MissingExecutor or BenchFailure unless gate ran: exit 0, or 1 for failed checks."""
    rejected = any(sign in child.stderr for sign in (
        "No such option: --executor", "Invalid value for '--executor'", "error: --executor"))
    if child.returncode == 2 and rejected:
        raise MissingExecutor(child.stderr.strip().splitlines()[-1].strip("│ "))
    if child.timed_out:
        raise BenchFailure(f"ran past --timeout {timeout_s:.0f} s and was killed")
    if child.returncode not in (0, 1):
        raise BenchFailure(f"exit {child.returncode}: {child.stderr[-600:].strip()}")


def measure_baseline(model: Path, repeats: int = 3) -> list[float]:
    """Peak RSS in MB, sorted, of ``repeats`` children that import TensorFlow and load ``model``.

    Repeated because one in a few such children peaks ~400 MB higher (seen on 2 busy cores).
    """
    peaks = []
    for _ in range(repeats):
        child = run_child([sys.executable, "-c", BASELINE, str(model)])
        if child.returncode != 0:
            raise BenchFailure(f"baseline: exit {child.returncode}: {child.stderr[-600:]}")
        peaks.append(child.peak_kb / 1024)
    return sorted(peaks)


# -- projection --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cost:
    """An executor's measured cost: core-seconds per image plus a fixed overhead in seconds."""

    executor: str
    core_s_per_image: float
    overhead_s: float


def per_image_cost(executor: str, points: list[tuple[int, float]], cores: int) -> Cost:
    """(images, wall s) of one executor's runs → its Cost on a machine of ``cores`` cores.

    One size: all of the wall time is per-image work. Several: the line through the smallest
    and the largest run; its intercept (kept within 0 and the smallest wall time) is the fixed
    overhead. A line that does not rise falls back to the largest run alone.
    """
    (n_small, wall_small), (n_large, wall_large) = min(points), max(points)
    slope = (wall_large - wall_small) / (n_large - n_small) if n_large > n_small else 0.0
    if slope <= 0:
        return Cost(executor, wall_large * cores / n_large, 0.0)
    overhead = min(max(wall_small - slope * n_small, 0.0), wall_small)
    return Cost(executor, slope * cores, overhead)


def project_wall(cost: Cost, n_images: int, nodes: int, cores_per_node: int) -> float:
    """Projected wall seconds for ``n_images`` on ``nodes`` x ``cores_per_node`` cores."""
    return cost.overhead_s + n_images * cost.core_s_per_image / (nodes * cores_per_node)


def costs_of(runs: list[Run], cores: int) -> list[Cost]:
    """One Cost per executor, from all of its runs."""
    executors = dict.fromkeys(run.executor for run in runs)
    return [per_image_cost(executor, [(run.images, run.wall_s) for run in runs
                                      if run.executor == executor], cores)
            for executor in executors]


# -- output ------------------------------------------------------------------------------------

RUN_HEADER = (f"{'images':>9} {'executor':>8} {'wall s':>8} {'driver MB':>9} {'tree MB':>8} "
              f"{'x base':>6} {'B/image':>8} {'img/s':>7} {'img/s/core':>10}")


def run_row(run: Run, baseline_mb: float, cores: int) -> dict[str, float | int | str]:
    """A Run with its derived columns, as printed and as written to JSON."""
    per_s = run.images / run.wall_s
    return {**asdict(run), "x_base": run.driver_mb / baseline_mb,
            "bytes_per_image": (run.driver_mb - baseline_mb) * 2**20 / run.images,
            "tree_bytes_per_image": (run.tree_mb - baseline_mb) * 2**20 / run.images,
            "images_per_s": per_s, "images_per_s_per_core": per_s / cores}


def format_run(row: dict[str, float | int | str]) -> str:
    return (f"{row['images']:>9,} {row['executor']:>8} {row['wall_s']:>8,.1f} "
            f"{row['driver_mb']:>9,.0f} {row['tree_mb']:>8,.0f} {row['x_base']:>6.2f} "
            f"{row['bytes_per_image']:>8,.0f} {row['images_per_s']:>7,.0f} "
            f"{row['images_per_s_per_core']:>10,.1f}")


def format_duration(seconds: float) -> str:
    """Seconds → '42 s', '17 min' or '3.2 h'."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def print_projection(costs: list[Cost], n_images: int, nodes: list[int], cores_per_node: int,
                     cores: int) -> None:
    print(f"\nProjected wall time for {n_images:,} images on N nodes of {cores_per_node} cores. "
          f"Assumes per-image work scales linearly over all cores and a fixed driver overhead; "
          f"the cost per image was measured on this machine's {cores} cores.")
    print(f"{'executor':>8} {'core-s/image':>12} {'overhead s':>10} "
          + " ".join(f"{f'{count} node' + 's' * (count != 1):>9}" for count in nodes))
    for cost in costs:
        walls = [project_wall(cost, n_images, count, cores_per_node) for count in nodes]
        print(f"{cost.executor:>8} {cost.core_s_per_image:>12.5f} {cost.overhead_s:>10.1f} "
              + " ".join(f"{format_duration(wall):>9}" for wall in walls))


def write_json(path: Path, baseline_mb: float, cores: int, rows: list[dict],
               projection: list[dict]) -> None:
    path.write_text(json.dumps({"baseline_mb": baseline_mb, "cores": cores, "runs": rows,
                                "projection": projection}, indent=1))


# -- main --------------------------------------------------------------------------------------

def prepare(args: argparse.Namespace, sizes: list[int]) -> None:
    for n_images in sizes:
        folder = dataset_dir(args.data_root, n_images)
        wrote = ensure_set(folder, recipe_for(n_images, args.seed, args.source, args.split))
        size_mb = sum(path.stat().st_size for path in folder.glob("part-*.parquet")) / 2**20
        print(f"data: {folder} ({n_images:,} images, {size_mb:,.0f} MB on disk, "
              f"{'written' if wrote else 'reused'})", flush=True)


def run_all(args: argparse.Namespace, sizes: list[int], baseline_mb: float) -> tuple[list[Run], bool]:
    """Every size for every executor; an executor that fails is dropped for the larger sizes.
    Returns the runs and whether every run that was not skipped succeeded."""
    runs: list[Run] = []
    dropped: set[str] = set()
    ok = True
    print(RUN_HEADER, flush=True)
    for n_images in sizes:
        for executor in args.executors.split(","):
            if executor in dropped:
                continue
            try:
                run = run_gate(args.model, dataset_dir(args.data_root, n_images), n_images,
                               executor, args.ray_address, args.timeout, args.reference_model)
            except MissingExecutor as err:
                dropped.add(executor)
                ok = ok and args.skip_missing_executor
                print(f"{n_images:>9,} {executor:>8} skipped: gate rejects --executor {executor} "
                      f"({err})" + ("" if args.skip_missing_executor
                                    else "; --skip-missing-executor goes on without it"),
                      flush=True)
                continue
            except BenchFailure as err:
                dropped.add(executor)
                ok = False
                print(f"{n_images:>9,} {executor:>8} FAILED ({err}); larger sizes not run",
                      flush=True)
                continue
            runs.append(run)
            print(format_run(run_row(run, baseline_mb, args.cores)), flush=True)
            if args.json:
                write_json(args.json, baseline_mb, args.cores,
                           [run_row(done, baseline_mb, args.cores) for done in runs], [])
    return runs, ok


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="30000,300000,1000000", help="comma-separated image counts")
    parser.add_argument("--executors", default="local,ray", help="comma-separated gate --executor values")
    parser.add_argument("--ray-address", help="passed to gate as --ray-address")
    parser.add_argument("--model", type=Path, default=REPO / "sample_models" / "fer_cnn.keras")
    parser.add_argument("--data-root", type=Path, default=Path("/work/synthetic"))
    parser.add_argument("--source", type=Path, default=Path("/work/shared/fer2013"),
                        help="the images the synthetic sets augment")
    parser.add_argument("--split", default="PublicTest", help="split of --source")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                        help="cores of this machine, for per-core rates (default: all)")
    parser.add_argument("--nodes", default="1,4,16,64", help="cluster sizes to project for")
    parser.add_argument("--cores-per-node", type=int, default=16)
    parser.add_argument("--project-images", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds per gate run")
    parser.add_argument("--json", type=Path, help="also write every row and the projection here")
    parser.add_argument("--skip-missing-executor", action="store_true",
                        help="go on when gate rejects an --executor value")
    parser.add_argument("--prepare-only", action="store_true", help="write the data sets and stop")
    parser.add_argument("--reference-model", type=Path, help="passed to gate as --reference-model")
    parser.add_argument("--stand-in", action="store_true",
                        help="measure with tiny untrained models (benchmarks/stand_in_models.py): "
                             "memory as with any model, times far below a real model's")
    args = parser.parse_args(argv)
    if args.stand_in:
        from stand_in_models import write_stand_ins

        args.model, args.reference_model = write_stand_ins(args.data_root / "stand_in_models")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sorted({int(size) for size in args.sizes.split(",")})
    prepare(args, sizes)
    if args.prepare_only:
        return 0
    try:
        baselines = measure_baseline(args.model)
    except BenchFailure as err:
        print(err, file=sys.stderr)
        return 1
    baseline_mb = baselines[len(baselines) // 2]
    print(f"baseline (import TensorFlow, load the model): {baseline_mb:,.0f} MB peak, the median "
          f"of {', '.join(f'{mb:,.0f}' for mb in baselines)}; {args.cores} cores", flush=True)
    runs, ok = run_all(args, sizes, baseline_mb)
    nodes = [int(count) for count in args.nodes.split(",")]
    costs = costs_of(runs, args.cores)
    if costs:
        print_projection(costs, args.project_images, nodes, args.cores_per_node, args.cores)
    if args.json:
        projection = [{**asdict(cost), "images": args.project_images,
                       "cores_per_node": args.cores_per_node,
                       "wall_s_by_nodes": {count: project_wall(cost, args.project_images, count,
                                                               args.cores_per_node)
                                           for count in nodes}} for cost in costs]
        write_json(args.json, baseline_mb, args.cores,
                   [run_row(run, baseline_mb, args.cores) for run in runs], projection)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
