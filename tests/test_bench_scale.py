"""benchmarks/bench_scale.py: projection arithmetic, exit classification, data-set reuse.

Nothing here runs gate; the only children are one-line Python processes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from bench_memory import ChildRun, peak_of, run_child
from bench_scale import (
    BenchFailure,
    Cost,
    MissingExecutor,
    Run,
    check_exit,
    costs_of,
    format_duration,
    max_data_mb,
    per_image_cost,
    project_wall,
    run_row,
    tree_rss,
)
from make_synthetic_parquet import MARKER, Recipe, ensure_set, is_complete

from reportgen.loading.data import load_dataset

FER = Path("/work/shared/fer2013")


def test_one_size_counts_all_of_its_wall_time_as_per_image_work() -> None:
    assert per_image_cost("local", [(1000, 10.0)], cores=2) == Cost("local", 0.02, 0.0)


def test_several_sizes_give_the_line_through_the_smallest_and_largest() -> None:
    # 10 s fixed + 2 ms of wall per image on 2 cores: 4 ms of core time per image
    cost = per_image_cost("ray", [(11_000, 32.0), (5_000, 99.0), (1_000, 12.0)], cores=2)
    assert cost.core_s_per_image == pytest.approx(0.004)
    assert cost.overhead_s == pytest.approx(10.0)
    # 1M images x 4 ms over 4 x 16 cores = 62.5 s, plus the fixed 10 s
    assert project_wall(cost, 1_000_000, nodes=4, cores_per_node=16) == pytest.approx(72.5)
    assert project_wall(cost, 1_000_000, nodes=1, cores_per_node=16) == pytest.approx(260.0)


def test_a_negative_intercept_is_no_overhead() -> None:
    cost = per_image_cost("local", [(1000, 1.0), (2000, 3.0)], cores=1)
    assert (cost.core_s_per_image, cost.overhead_s) == (pytest.approx(0.002), 0.0)


def test_a_line_that_does_not_rise_falls_back_to_the_largest_run() -> None:
    assert per_image_cost("local", [(1000, 20.0), (2000, 10.0)], cores=2) == Cost(
        "local", 0.01, 0.0)


def test_costs_are_per_executor() -> None:
    runs = [Run(1000, "local", 10.0, 1, 1, 0), Run(1000, "ray", 40.0, 1, 1, 1)]
    assert [(cost.executor, cost.core_s_per_image) for cost in costs_of(runs, cores=1)] == [
        ("local", 0.01), ("ray", 0.04)]


def test_run_row_derives_ratio_bytes_per_image_and_rates() -> None:
    row = run_row(Run(1000, "local", 10.0, 1100.0, 1200.0, 0), baseline_mb=100.0, cores=2)
    assert row["x_base"] == 11.0
    assert row["bytes_per_image"] == 2**20  # 1,000 MB over 1,000 images
    assert row["tree_bytes_per_image"] == 1.1 * 2**20
    assert (row["images_per_s"], row["images_per_s_per_core"]) == (100.0, 50.0)
    json.dumps(row)


def test_max_data_mb_admits_the_decoded_images() -> None:
    assert max_data_mb(1_000_000) > 1_000_000 * 48 * 48 / 2**20


def test_format_duration() -> None:
    assert [format_duration(s) for s in (42, 1020, 11_520)] == ["42 s", "17 min", "3.2 h"]


def _child(returncode: int, stderr: str = "", timed_out: bool = False) -> ChildRun:
    return ChildRun(returncode, 1, 1.0, "", stderr, timed_out)


def test_failed_checks_are_a_run_and_other_exits_are_failures() -> None:
    check_exit(_child(0), 60)
    check_exit(_child(1, "check failed: accuracy"), 60)
    with pytest.raises(MissingExecutor, match="No such option"):
        check_exit(_child(2, "reportgen: error: No such option: --executor (see …)\n"), 60)
    with pytest.raises(MissingExecutor, match="not installed"):
        check_exit(_child(2, "reportgen: error: --executor ray: Ray is not installed; …"), 60)
    with pytest.raises(BenchFailure, match="exit 2"):
        check_exit(_child(2, "reportgen: error: no such file"), 60)
    with pytest.raises(BenchFailure, match="timeout"):
        check_exit(_child(-9, timed_out=True), 60)


def test_run_child_passes_the_exit_code_and_kills_past_its_timeout() -> None:
    assert run_child([sys.executable, "-c", "raise SystemExit(3)"]).returncode == 3
    slept = run_child([sys.executable, "-c", "import time; time.sleep(60)"], timeout=0.5)
    assert slept.timed_out and slept.returncode == -9
    peak_kb, _, stdout = peak_of([sys.executable, "-c", "print(7)"])
    assert peak_kb > 0 and stdout == "7\n"


def test_tree_rss_sums_a_live_process_and_is_zero_once_gone() -> None:
    assert tree_rss(os.getpid()) > 0
    assert tree_rss(2**22 + 12345) == 0  # above the default pid_max: no such process


@pytest.mark.skipif(not (FER / "PublicTest").is_dir(), reason="needs /work/shared/fer2013")
def test_a_complete_set_is_reused_and_a_changed_or_damaged_one_rewritten(tmp_path: Path) -> None:
    recipe = Recipe(200, seed=0, shard_rows=100, batch=50, source=str(FER), split="PublicTest")
    assert ensure_set(tmp_path, Recipe(300, 0, 100, 50, source=str(FER)))  # 3 shards
    assert ensure_set(tmp_path, recipe)
    assert sorted(path.name for path in tmp_path.glob("part-*")) == [
        "part-00000.parquet", "part-00001.parquet"]  # the third, stale, is gone
    assert len(load_dataset(tmp_path, None).labels) == 200  # the marker is not read as data

    written = (tmp_path / "part-00001.parquet").stat().st_mtime_ns
    assert not ensure_set(tmp_path, recipe)
    assert (tmp_path / "part-00001.parquet").stat().st_mtime_ns == written

    assert not is_complete(tmp_path, Recipe(200, 1, 100, 50, source=str(FER)))  # other seed
    with (tmp_path / "part-00001.parquet").open("r+b") as shard:
        shard.truncate(1000)
    assert not is_complete(tmp_path, recipe)
    assert ensure_set(tmp_path, recipe) and is_complete(tmp_path, recipe)
    (tmp_path / MARKER).unlink()
    assert not is_complete(tmp_path, recipe)
