"""Large splits on disk: SpilledImages reads like an array, loaders spill file by file, and a
run on a spilled split gives the same summary.json as one in memory."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest

from reportgen.loading.data import load_dataset
from reportgen.loading.store import ImageSink, SpilledImages, blocks, images_digest
from tests.conftest import write_csv

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def spilled(monkeypatch, tmp_path) -> tuple[np.ndarray, SpilledImages]:
    monkeypatch.setenv("REPORTGEN_SPILL_MB", "0")
    monkeypatch.setenv("REPORTGEN_SPILL_DIR", str(tmp_path))
    images = np.random.default_rng(0).integers(0, 256, (37, 6, 5), dtype=np.uint8)
    sink = ImageSink((6, 5))
    for start in range(0, 37, 10):
        sink.add(images[start : start + 10])
    store = sink.finish()
    assert isinstance(store, SpilledImages)
    return images, store


@pytest.mark.parametrize("key", [0, 36, -1, slice(None), slice(3, 9), slice(30, 99), slice(5, 2),
                                 [4, 0, 4, 36], np.array([], int), "mask"])
def test_spilled_images_index_like_an_array(spilled, key):
    images, store = spilled
    if isinstance(key, str):
        key = images[:, 0, 0] > 128
    np.testing.assert_array_equal(store[key], images[key])
    assert store.shape == images.shape and len(store) == len(images)


def test_spilled_images_refuse_what_an_array_would(spilled):
    _, store = spilled
    for key in (37, -38, [0, 37]):
        with pytest.raises(IndexError):
            store[key]


def test_blocks_and_digest_cover_the_split_in_order(spilled):
    images, store = spilled
    np.testing.assert_array_equal(np.concatenate([b for _, b in blocks(store, 8)]), images)
    assert [start for start, _ in blocks(store, 8)] == [0, 8, 16, 24, 32]
    import hashlib

    assert images_digest(store).hexdigest() == hashlib.sha256(images.tobytes()).hexdigest()


def test_a_sink_under_its_limit_stays_in_memory(monkeypatch):
    monkeypatch.setenv("REPORTGEN_SPILL_MB", "1")
    sink = ImageSink((48, 48))
    sink.add(np.zeros((100, 48, 48), np.uint8))
    assert isinstance(sink.finish(), np.ndarray)


def test_shards_spill_one_file_at_a_time(monkeypatch, tmp_path, demo_data):
    images, labels = demo_data
    folder = tmp_path / "shards"
    folder.mkdir()
    for i, start in enumerate(range(0, len(labels), 120)):
        write_csv(folder / f"part-{i}.csv", images[start : start + 120], labels[start : start + 120])
    in_memory = load_dataset(folder)
    monkeypatch.setenv("REPORTGEN_SPILL_MB", "0")
    on_disk = load_dataset(folder)
    assert isinstance(on_disk.images, SpilledImages) and isinstance(in_memory.images, np.ndarray)
    np.testing.assert_array_equal(on_disk.images[:], in_memory.images)
    np.testing.assert_array_equal(on_disk.labels, in_memory.labels)
    assert on_disk.sources == in_memory.sources


def test_a_failed_load_removes_its_spill(monkeypatch, tmp_path, demo_data):
    from reportgen.errors import InputError

    images, labels = demo_data
    bad = write_csv(tmp_path / "fer.csv", images[:40], labels[:40])
    text = bad.read_text().splitlines()
    text[5] = "9,1 2 3,PublicTest"
    bad.write_text("\n".join(text) + "\n")
    spill_root = tmp_path / "spill"
    spill_root.mkdir()
    monkeypatch.setenv("REPORTGEN_SPILL_MB", "0")
    monkeypatch.setenv("REPORTGEN_SPILL_DIR", str(spill_root))
    with pytest.raises(InputError, match="row 5"):
        load_dataset(bad)
    assert list(spill_root.iterdir()) == []


def _gate(out: Path, env: dict[str, str], *extra: str) -> dict:
    command = [sys.executable, "-m", "reportgen", "gate", "--out", str(out), "--quiet", *extra]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO,
                          check=False)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return json.loads((out / "summary.json").read_text())


def test_gate_on_a_spilled_split_writes_the_same_summary(tmp_path):
    import os

    sys.path.insert(0, str(REPO / "benchmarks"))
    from compare_summaries import differences

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "REPORTGEN_CACHE": str(tmp_path / "cache")}
    in_memory = _gate(tmp_path / "memory", env)
    on_disk = _gate(tmp_path / "disk", {**env, "REPORTGEN_SPILL_MB": "0"})
    assert differences(in_memory, on_disk, None) == []
    assert on_disk["data"]["n_images"] == 350


def test_attribution_maps_of_a_large_split_come_from_a_seeded_sample(monkeypatch, demo_data):
    from reportgen.bias import analysis
    from tests.conftest import brightness_model, make_classifier

    images, labels = demo_data
    classifier = make_classifier(brightness_model())
    probs = classifier.predict(images)
    seen = []

    def attribute(batch, targets):
        seen.append(len(batch))
        return np.ones_like(batch)

    monkeypatch.setattr(analysis, "MAX_MAP_IMAGES", 120)
    result = analysis.analyse_bias(classifier, images, labels, probs, [str(k) for k in range(7)],
                                   attribute=attribute, probe_names=["bright_up_40"] if
                                   "bright_up_40" in analysis.PROBES else list(analysis.PROBES)[:1])
    assert sum(seen) == 120
    assert sum(result.off_face.n_images) == 120
    np.testing.assert_array_equal(analysis.map_sample(350, 0, 120), analysis.map_sample(350, 0, 120))
    assert len(np.unique(analysis.map_sample(350, 0, 120))) == 120


def test_a_parquet_file_is_read_in_parts_with_the_same_result(monkeypatch, tmp_path, demo_data):
    from reportgen.loading import parquet
    from tests.test_shards import write_parquet

    images, labels = demo_data
    path = tmp_path / "fer.parquet"
    write_parquet(path, np.asarray(images), labels, ["PublicTest"] * len(labels))
    whole = load_dataset(path)
    monkeypatch.setattr(parquet, "PART_ROWS", 100)
    monkeypatch.setattr(parquet, "BATCH_ROWS", 64)
    parts = list(parquet.read_parquet_parts(path, None, 7))
    assert [len(p.rows) for p in parts] == [128, 128, 94]
    in_parts = load_dataset(path)
    np.testing.assert_array_equal(in_parts.images, whole.images)
    assert in_parts.sources == whole.sources and in_parts.sources[-1] == "row 350"


def test_a_glob_of_shards_loads_like_their_folder(tmp_path, demo_data):
    from reportgen.errors import InputError

    images, labels = demo_data
    for i, start in enumerate(range(0, len(labels), 100)):
        folder = tmp_path / f"day{i % 2}"
        folder.mkdir(exist_ok=True)
        write_csv(folder / f"part-{i}.csv", images[start : start + 100], labels[start : start + 100])
    loaded = load_dataset(tmp_path / "day*" / "part-*.csv")
    assert len(loaded.labels) == 350
    assert loaded.sources[0] == "day0/part-0.csv row 1" and loaded.sources[-1] == "day1/part-3.csv row 50"
    one_folder = load_dataset(tmp_path / "day0" / "*.csv")
    assert len(one_folder.labels) == 200 and one_folder.sources[0] == "part-0.csv row 1"
    with pytest.raises(InputError, match="matches no CSV or Parquet files"):
        load_dataset(tmp_path / "nothing-*.parquet")


def test_cli_refuses_a_glob_that_matches_nothing_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "reportgen", "gate", "--data",
                           str(tmp_path / "x-*.parquet"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().endswith("x-*.parquet: matches no CSV or Parquet files")
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--executor", "spark"], "--executor: 'spark' is not one of local, ray"),
    (["--executor", "local", "--ray-address", "auto"],
     "--ray-address: runs on a Ray cluster, not with --executor local"),
])
def test_cli_refuses_a_bad_executor_in_one_line(tmp_path, args, message):
    done = subprocess.run([sys.executable, "-m", "reportgen", "gate", "--out", str(tmp_path / "o"),
                           *args], capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 2 and done.stderr.strip() == f"reportgen: error: {message}"
    assert not (tmp_path / "o").exists()


def test_a_ray_address_alone_chooses_ray():
    from reportgen.preflight import check_executor

    assert check_executor(None, None) == "local"
    if importlib.util.find_spec("ray") is not None:
        assert check_executor(None, "auto") == "ray"


def test_no_stage_reads_a_spilled_split_whole(monkeypatch, tmp_path, demo_data, tiny_model_path):
    """A gate run on 8,400 spilled images reads them in blocks of at most 2,048 (or a few
    chosen cases), and never holds more than two blocks of them: the guard for bounded memory
    at any N (a list of every block once read the whole split back)."""
    from reportgen.api import gate
    from reportgen.loading import store
    from tests.test_shards import write_parquet

    images, labels = demo_data
    rng = np.random.default_rng(0)
    many = np.clip(np.tile(np.asarray(images), (24, 1, 1)).astype(int)
                   + rng.integers(-20, 21, (24 * len(labels), 48, 48)), 0, 255).astype(np.uint8)
    path = write_parquet(tmp_path / "many.parquet", many, np.tile(labels, 24), None, kind="list",
                         row_group_size=1000)
    reads: list[int] = []
    live = {"now": 0, "most": 0}  # bytes of pixels read and still referenced somewhere
    original = store.SpilledImages._read_range

    def release(size: int) -> None:
        live["now"] -= size

    def counted(self, start, stop):
        reads.append(stop - start)
        out = original(self, start, stop)
        live["now"] += out.nbytes
        live["most"] = max(live["most"], live["now"])
        weakref.finalize(out, release, out.nbytes)
        return out

    def whole(self, dtype=None, copy=None):
        raise AssertionError("the whole spilled split was read into memory")

    monkeypatch.setattr(store.SpilledImages, "_read_range", counted)
    monkeypatch.setattr(store.SpilledImages, "__array__", whole)
    monkeypatch.setenv("REPORTGEN_SPILL_MB", "0")
    monkeypatch.setenv("REPORTGEN_SPILL_DIR", str(tmp_path))
    gate(tiny_model_path, path, class_names=[str(k) for k in range(7)])
    assert reads and max(reads) <= store.BLOCK_IMAGES
    assert sum(reads) >= 5 * len(many)  # every whole-split stage went through the blocks
    # never more than two blocks' pixels alive at once (the split is 4.1 blocks)
    assert live["most"] <= 2 * store.BLOCK_IMAGES * 48 * 48, live
