"""Hostile and unlucky inputs, round three (issue 23): Parquet, shards, the spill file, Ray, the
policy and the output targets. Each is one ``reportgen: error:`` line with exit 2, bounded in
memory where that is the point, and found before TensorFlow is imported where it can be."""

from __future__ import annotations

import importlib.util
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reportgen.cli import MAX_LINE, one_line
from reportgen.errors import InputError
from reportgen.gating.policy import load_policy
from reportgen.loading import store
from reportgen.loading.data import load_dataset, load_other_splits
from reportgen.loading.limits import InputLimits
from reportgen.loading.splits import SplitNames
from reportgen.preflight import check_data_path, check_ray_address
from reportgen.report.output import replace_all
from tests.conftest import write_csv, write_folders
from tests.test_hostile_inputs import HEADER, REPO, _gate, _must_not_run, _one_error, _peak_rss_mib


@pytest.fixture
def no_tensorflow(monkeypatch):
    """The run must stop before TensorFlow is imported (and so before any stage runs)."""
    monkeypatch.setattr("reportgen.progress.import_tensorflow_quietly", _must_not_run)
    monkeypatch.setattr("reportgen.pipeline.run_audit", _must_not_run)


def _audit(*args: object) -> tuple[int, list[str]]:
    from typer.testing import CliRunner

    from reportgen.cli import app

    result = CliRunner().invoke(app, ["audit", "--quiet", "--methods", "none", *map(str, args)])
    return result.exit_code, [line for line in result.stderr.splitlines() if line.strip()]


# ---- 1. A policy that never ends ------------------------------------------------------------

@pytest.mark.parametrize("kind", ["device", "fifo", "too big", "nested"])
def test_a_policy_that_is_no_regular_small_file_is_refused_without_reading_it(tmp_path, kind):
    policy = tmp_path / "policy.toml"
    if kind == "device":
        policy.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(policy)  # opening it to read would block for ever
    elif kind == "too big":
        policy.write_bytes(b"# padding\n" * 200_000)
    else:
        policy.write_text("x = " + "[" * 200_000 + "]" * 200_000 + "\n")
    needle = {"device": "not a regular file", "fifo": "not a regular file",
              "too big": "too big for a policy file", "nested": "nested too deeply"}[kind]
    start = time.perf_counter()
    with pytest.raises(InputError, match=needle) as caught:
        load_policy(policy)
    assert str(policy) in str(caught.value) and time.perf_counter() - start < 5


def test_policy_on_dev_zero_is_one_line_through_the_cli(tmp_path, tiny_model_path, small_csv,
                                                        no_tensorflow):
    _one_error(*_gate("--model", tiny_model_path, "--data", small_csv, "--policy", "/dev/zero",
                      "--out", tmp_path / "out"), "/dev/zero", "not a regular file")
    assert not (tmp_path / "out").exists()


# ---- 2 and 3. Many small bad rows: counted as they stream, in bounded memory ----------------

LOAD = """
from reportgen.errors import InputError
from reportgen.loading.data import load_dataset
from reportgen.loading.limits import InputLimits
try:
    load_dataset({path!r}, {split!r}, limits=InputLimits(max_data_mb={mb}))
except InputError as err:
    print(err)
"""


def test_a_csv_of_a_million_malformed_rows_streams_in_bounded_memory(tmp_path):
    path = tmp_path / "fer2013.csv"
    path.write_bytes(HEADER + b"0,1,PrivateTest\n" * 400_000)  # 6.4 MB: each row 1 pixel
    # a limit high enough that every row is read: memory must not grow with the rows
    peak, message = _peak_rss_mib(LOAD.format(path=str(path), split="PrivateTest", mb=4096))
    assert "row 1 has 1 pixel values, expected 2304" in message
    assert "and 399,999 more bad rows" in message
    assert peak < 400, peak  # was 3.46 GB for 1M rows; 900 MB of images alone here


def test_a_csv_of_bad_rows_stops_at_the_decoded_size_limit(tmp_path):
    path = tmp_path / "fer2013.csv"
    path.write_bytes(HEADER + b"0,1,PrivateTest\n" * 1_000_000)
    peak, message = _peak_rss_mib(LOAD.format(path=str(path), split="PrivateTest", mb=16))
    assert "row 1 has 1 pixel values" in message and "among the first" in message
    assert peak < 400, peak


def _null_parquet(path: Path, n_rows: int, usage: str = "PrivateTest") -> Path:
    table = pa.table({"image": pa.nulls(n_rows, pa.binary()), "label": pa.nulls(n_rows, pa.int64()),
                      "usage": pa.array([usage] * n_rows)})
    pq.write_table(table, path, compression="zstd")
    return path


def test_parquet_rows_without_labels_count_toward_the_limit(tmp_path):
    path = _null_parquet(tmp_path / "nulls.parquet", 3_000_000)
    assert path.stat().st_size < 2 << 20
    start = time.perf_counter()
    peak, message = _peak_rss_mib(LOAD.format(path=str(path), split="PrivateTest", mb=512))
    assert "row 1 has no label" in message and "--skip-bad-rows" in message, message
    assert peak < 600, peak  # was 4.77 GB for 20M rows
    assert time.perf_counter() - start < 60


def test_skipped_parquet_rows_without_labels_still_meet_the_limit(tmp_path):
    path = _null_parquet(tmp_path / "nulls.parquet", 600_000)
    with pytest.raises(InputError, match=r"over the --max-data-mb limit of 64 MiB"):
        load_dataset(path, "PrivateTest", skip_bad=True, limits=InputLimits(max_data_mb=64))


# ---- 4. Two targets that are one file --------------------------------------------------------

@pytest.mark.parametrize("spelling", ["out/summary.json", "out/../out/summary.json"])
def test_junit_onto_summary_json_is_refused_before_the_run(tmp_path, tiny_model_path, small_csv,
                                                           no_tensorflow, monkeypatch, spelling):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "summary.json").write_text("old")
    _one_error(*_gate("--model", tiny_model_path, "--data", small_csv, "--out", "out",
                      "--junit", spelling), "same file as", "summary.json")
    assert (tmp_path / "out" / "summary.json").read_text() == "old"


# ---- 5. Ray addresses -----------------------------------------------------------------------

needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray not installed")


@needs_ray
@pytest.mark.parametrize(("address", "needle"), [
    ("garbage!!", "is not auto, HOST:PORT"),
    ("http://head:6379", "is not auto, HOST:PORT"),
    ("head:99999", "is not auto, HOST:PORT"),
    ("127.0.0.1:1", "cannot connect: Connection refused"),
])
def test_a_bad_ray_address_is_one_line_within_seconds(tmp_path, tiny_model_path, small_csv,
                                                      no_tensorflow, address, needle):
    start = time.perf_counter()
    _one_error(*_gate("--model", tiny_model_path, "--data", small_csv, "--ray-address", address,
                      "--out", tmp_path / "out"), "--ray-address", needle)
    assert time.perf_counter() - start < 10


def test_a_port_that_answers_but_not_as_ray_is_refused():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:  # an HTTP/1.1 server's reply to anything
        connection, _ = server.accept()
        with connection:
            connection.recv(64)
            connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    with pytest.raises(InputError, match="answers, but not as Ray does"):
        check_ray_address(f"127.0.0.1:{port}")
    thread.join(5)
    server.close()


def test_auto_and_local_need_no_probe():
    check_ray_address("auto")
    check_ray_address("local")


# ---- 6. Error lines are capped ----------------------------------------------------------------

def test_three_hundred_thousand_split_values_give_a_short_line(tmp_path, tiny_model_path,
                                                                no_tensorflow):
    n = 300_000
    table = pa.table({"image": pa.nulls(n, pa.binary()), "label": pa.array(np.zeros(n, np.int64)),
                      "usage": pa.array([f"split-{i}" for i in range(n)])})
    pq.write_table(table, tmp_path / "many.parquet", compression="zstd")
    line = _one_error(*_gate("--model", tiny_model_path, "--data", tmp_path / "many.parquet",
                             "--split", "PrivateTest"), "no rows with Usage 'PrivateTest'",
                      "… and 299,990 more")
    assert len(line) < 1000, len(line)


def test_split_names_are_counted_in_little_memory():
    names = SplitNames(f"s{i}" for i in range(100_000))
    names.add(["S1", " s2 ", "new"])  # the same names, as stored otherwise: one split each
    assert len(names) == 100_001 and names.describe().endswith("… and 99,991 more")


def test_one_line_caps_any_message():
    line = one_line("x" * 10_000_000)
    assert len(line) < MAX_LINE + 50 and line.endswith("(9,998,000 more characters)")


# ---- 7. Other splits in one pass, a bounded number of them ----------------------------------

def test_other_splits_are_read_in_one_pass(tmp_path, small_data, monkeypatch):
    from reportgen.loading import shards

    images, labels = small_data
    usages = ["PublicTest", "Training"] + [f"extra-{i}" for i in range(len(labels) - 2)]
    dataset = load_dataset(write_csv(tmp_path / "fer.csv", images, labels, usages), "PublicTest")
    calls = []
    real = shards.read_parts
    monkeypatch.setattr(shards, "read_parts", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    others = load_other_splits(dataset)
    assert len(calls) == 1 and len(others) == 8  # MAX_OTHER_SPLITS, not one read per split
    assert all(len(found) == 1 for found in others.values())


# ---- 8. "Unexpected" errors that named no file --------------------------------------------

@pytest.mark.parametrize("kind", [pa.list_(pa.string()), pa.list_(pa.list_(pa.int64())),
                                  pa.list_(pa.struct([("v", pa.int64())])),
                                  pa.list_(pa.timestamp("s"))])
def test_parquet_image_columns_of_no_pixel_type_are_refused_at_preflight(tmp_path, kind):
    path = tmp_path / "odd.parquet"
    pq.write_table(pa.table({"image": pa.nulls(3, kind), "label": pa.array([0, 1, 2])}), path)
    with pytest.raises(InputError, match=r"odd\.parquet: image column 'image' holds list"):
        check_data_path(path)


@pytest.mark.parametrize("kind", ["missing", "a file", "unwritable", "bad threshold"])
def test_spill_settings_are_checked_before_the_run(tmp_path, tiny_model_path, small_csv,
                                                   no_tensorflow, monkeypatch, kind):
    spill = tmp_path / "spill"
    if kind == "a file":
        spill.write_text("")
    if kind == "unwritable":  # root ignores modes: refuse the probe instead
        spill.mkdir()
        monkeypatch.setattr(store.tempfile, "mkdtemp",
                            lambda **_: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    monkeypatch.setenv("REPORTGEN_SPILL_DIR", str(spill))
    if kind == "bad threshold":
        spill.mkdir()
        monkeypatch.setenv("REPORTGEN_SPILL_MB", "lots")
    needle = {"missing": "$REPORTGEN_SPILL_DIR does not exist", "a file": "is not a folder",
              "unwritable": "cannot be written: Permission denied",
              "bad threshold": "$REPORTGEN_SPILL_MB: must be a number"}[kind]
    _one_error(*_gate("--model", tiny_model_path, "--data", small_csv, "--out", tmp_path / "out"),
               needle)


def test_a_full_disk_while_spilling_names_the_folder_and_the_variable(tmp_path, monkeypatch):
    class Full:
        def write(self, _data: object) -> None:
            raise OSError(28, "No space left on device")

        def close(self) -> None:
            pass

    monkeypatch.setenv("REPORTGEN_SPILL_DIR", str(tmp_path))
    monkeypatch.setattr(store, "open", lambda *_a, **_k: Full(), raising=False)
    sink = store.ImageSink((48, 48))
    sink.limit = 0
    with pytest.raises(InputError, match=r"cannot write the spill file .*No space left on device.*"
                                         r"\$REPORTGEN_SPILL_DIR") as caught:
        sink.add(np.zeros((2, 48, 48), np.uint8))
    assert str(tmp_path) in str(caught.value)
    assert not list(tmp_path.iterdir())  # the spill folder is gone


# ---- 10. Inputs dropped without a word ------------------------------------------------------

@pytest.mark.parametrize("kind", ["device", "dangling", "loop"])
def test_a_shard_that_is_no_file_is_refused_by_name(tmp_path, small_data, kind):
    images, labels = small_data
    folder = tmp_path / "shards"
    folder.mkdir()
    write_csv(folder / "a.csv", images, labels)
    bad = folder / "b.csv"
    if kind == "device":
        bad.symlink_to("/dev/zero")
    elif kind == "dangling":
        bad.symlink_to(tmp_path / "gone.csv")
    else:
        bad.symlink_to(bad)
    needle = {"device": "not a regular file", "dangling": "a link to nothing",
              "loop": "a link that loops"}[kind]
    with pytest.raises(InputError, match=needle) as caught:
        check_data_path(folder)
    assert "b.csv" in str(caught.value)


def _special_entries(folder: Path) -> list[str]:
    (folder / "loop.png").symlink_to(folder / "loop.png")
    (folder / "zero.png").symlink_to("/dev/zero")
    os.mkfifo(folder / "pipe.png")
    return ["loop.png", "pipe.png", "zero.png"]


def test_image_entries_that_are_no_files_are_refused_or_counted(tmp_path, small_data):
    images, labels = small_data
    root = write_folders(tmp_path / "root", images[:20], labels[:20])
    happy = root / "happy"
    happy.mkdir(exist_ok=True)
    names = _special_entries(happy)
    with pytest.raises(InputError, match=r"(loop|pipe|zero)\.png: .*\(and 2 more; --skip-bad-rows"):
        load_dataset(root)
    dataset = load_dataset(root, skip_bad=True)
    assert len(dataset.labels) == 20 and dataset.n_skipped == 3
    assert all(any(name in note for note in dataset.skipped_examples) for name in names)


def test_a_class_entry_that_is_a_file_is_refused_or_counted(tmp_path, small_data):
    images, labels = small_data
    root = write_folders(tmp_path / "root", images[:20], labels[:20])
    (root / "contempt.txt").write_text("a stray note is ignored")
    surprise = root / "surprise"
    if surprise.exists():
        for file in surprise.iterdir():
            file.unlink()
        surprise.rmdir()
    surprise.write_bytes(b"not a folder")
    with pytest.raises(InputError, match=r"surprise: named as a class but not a folder"):
        load_dataset(root)
    dataset = load_dataset(root, skip_bad=True)
    assert dataset.n_skipped == 1 and "surprise" in dataset.skipped_examples[-1]


# ---- 11. Labels as stored -------------------------------------------------------------------

def test_a_uint64_label_is_named_as_stored(tmp_path):
    path = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"pixels": pa.array([" ".join(["0"] * 2304)] * 2),
                             "label": pa.array([2**64 - 1, 3], pa.uint64())}), path)
    with pytest.raises(InputError, match=r"row 1 has emotion 18446744073709551615 outside 0–6"):
        load_dataset(path)
    assert load_dataset(path, skip_bad=True).labels.tolist() == [3]


def test_a_huge_csv_label_is_a_bad_row_not_an_overflow(tmp_path):
    path = tmp_path / "fer.csv"
    path.write_bytes(HEADER + b"99999999999999999999999," + b"0 " * 2303 + b"0,Training\n")
    with pytest.raises(InputError, match=r"row 1 has emotion 99999999999999999999… outside 0–6"):
        load_dataset(path)


# ---- Smaller: file modes, globs ---------------------------------------------------------------

def test_written_files_get_the_mode_of_a_normal_write(tmp_path):
    old = os.umask(0o027)
    try:
        replace_all({tmp_path / "report.html": b"new"})
        (tmp_path / "summary.json").write_text("old")
        os.chmod(tmp_path / "summary.json", 0o604)
        replace_all({tmp_path / "summary.json": b"new"})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o640  # not 0600
    assert stat.S_IMODE((tmp_path / "summary.json").stat().st_mode) == 0o604  # kept


def test_a_bracket_in_a_folder_name_needs_no_escaping(tmp_path, small_data):
    images, labels = small_data
    folder = tmp_path / "run[1]"
    folder.mkdir()
    write_csv(folder / "part-0.csv", images, labels)
    assert len(load_dataset(folder / "part-*.csv").labels) == len(labels)
    with pytest.raises(InputError, match=r"matches no CSV.*write \[\[\] for it"):
        load_dataset(tmp_path / "run[2]" / "*.csv")


# ---- From a newcomer's run: input errors before TensorFlow ------------------------------------

def test_an_unknown_method_is_refused_before_tensorflow(tmp_path, tiny_model_path, small_csv,
                                                        no_tensorflow):
    from typer.testing import CliRunner

    from reportgen.cli import app

    result = CliRunner().invoke(app, ["audit", "--quiet", "--model", str(tiny_model_path), "--data",
                                      str(small_csv), "--methods", "lime,gradcm",
                                      "--out", str(tmp_path / "out")])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    _one_error(result.exit_code, lines, "unknown attribution method 'gradcm'")


def test_split_names_follow_one_rule_for_folders_and_csvs(tmp_path, small_data, tiny_model_path,
                                                          no_tensorflow):
    images, labels = small_data
    root = tmp_path / "root"
    write_folders(root / "PrivateTest", images[:20], labels[:20])
    write_folders(root / "Training", images[20:], labels[20:])
    line = _one_error(*_gate("--model", tiny_model_path, "--data", root, "--split", "Test"),
                      "no split folder 'Test'")
    assert "PrivateTest, Training" in line  # as stored, not lower case
    csv = write_csv(tmp_path / "fer.csv", images, labels,
                    ["PrivateTest", "Training"] * (len(labels) // 2))
    _one_error(*_gate("--model", tiny_model_path, "--data", csv, "--split", "privatetst"),
               "no rows with Usage 'privatetst' (found PrivateTest, Training)")
    for data in (root, csv):  # case-insensitive alike; the split is named as stored
        assert load_dataset(data, " privatetest").split == "PrivateTest"


def test_a_csv_with_several_splits_and_no_split_is_refused_before_tensorflow(
        tmp_path, small_data, tiny_model_path, no_tensorflow):
    images, labels = small_data
    csv = write_csv(tmp_path / "fer.csv", images, labels, ["A", "B"] * (len(labels) // 2))
    _one_error(*_gate("--model", tiny_model_path, "--data", csv), "holds several splits (A, B)")


def test_the_csv_header_error_shows_text_not_bytes(tmp_path):
    path = tmp_path / "fer.csv"
    path.write_bytes(b"label,pixels,Usage\n0,1,Training\n")
    with pytest.raises(InputError, match=r"found 'label,pixels,Usage'$"):
        check_data_path(path)


def test_the_api_checks_its_paths_before_tensorflow(tmp_path):
    code = ("import sys, reportgen\nfrom reportgen.errors import InputError\n"
            "for kwargs in ({'model': 'nope.keras'}, {'data': 'nope.csv'},\n"
            "               {'methods': ['lime', 'gradcm']}, {'split': 'nosuch'}):\n"
            "    try:\n        reportgen.audit(**kwargs)\n"
            "    except InputError as err:\n        print(err)\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    *errors, loaded = done.stdout.strip().splitlines()
    assert loaded == "False False", done.stdout + done.stderr
    assert [e.split(": ", 1)[1][:24] for e in errors] == [
        "model not found", "data not found", "unknown attribution meth", "no rows with Usage 'nosu"]


# ---- 9. Ray under --quiet ---------------------------------------------------------------------

@needs_ray
@pytest.mark.slow
def test_ray_under_quiet_prints_only_reportgen_lines(tmp_path, tiny_model_path, small_csv):
    done = subprocess.run([sys.executable, "-m", "reportgen", "gate", "--quiet", "--executor", "ray",
                           "--model", str(tiny_model_path), "--data", str(small_csv),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=600, cwd=REPO, check=False,
                          env={**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"})
    assert done.returncode in (0, 1), done.stderr[-2000:]
    stray = [line for line in done.stderr.splitlines()
             if line.strip() and not line.startswith("reportgen: ")]
    assert stray == [], stray
    assert done.stdout.strip().endswith("summary.json")
