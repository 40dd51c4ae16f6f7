"""Data sets in several files: folders of CSV shards, Parquet files and folders of them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from typer.testing import CliRunner

from reportgen.cli import app
from reportgen.errors import InputError
from reportgen.loading.data import load_dataset
from reportgen.loading.limits import InputLimits
from reportgen.preflight import check_data_path
from tests.conftest import write_csv


def _usages(n: int) -> list[str]:
    return ["Training", "PublicTest", "PublicTest"] * (n // 3) + ["PublicTest"] * (n % 3)


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def write_parquet(path: Path, images: np.ndarray, labels: np.ndarray, usages: list[str] | None,
                  kind: str = "png", names: tuple[str, str, str] = ("image", "label", "Usage"),
                  row_group_size: int = 10) -> Path:
    """Images (N, 48, 48) uint8 as Parquet: PNG bytes, pixel lists or pixel strings."""
    if kind == "png":
        column = pa.array([_png(image) for image in images], pa.binary())
    elif kind == "list":
        column = pa.array([image.ravel().tolist() for image in images], pa.list_(pa.int16()))
    else:
        column = pa.array([" ".join(map(str, image.ravel())) for image in images], pa.string())
    table = {names[0]: column, names[1]: pa.array(labels, pa.int64())}
    if usages is not None:
        table[names[2]] = pa.array(usages)
    pq.write_table(pa.table(table), path, row_group_size=row_group_size)
    return path


@pytest.fixture
def reference(tmp_path, small_data):
    images, labels = small_data
    usages = _usages(len(labels))
    return images, labels, usages, load_dataset(write_csv(tmp_path / "one.csv", images, labels, usages),
                                                "PublicTest")


def _same(dataset, reference) -> None:
    np.testing.assert_array_equal(dataset.images, reference.images)
    np.testing.assert_array_equal(dataset.labels, reference.labels)
    assert dataset.split == reference.split and dataset.splits == reference.splits


def test_csv_shards_concatenate_in_file_order_like_one_csv(tmp_path, reference):
    images, labels, usages, whole = reference
    folder = tmp_path / "shards"
    folder.mkdir()
    cut = [0, 20, 21, 56]  # a shard of one row, and shards of both suffixes
    names = ["part-00.csv", "part-01.csv.gz", "part-02.csv"]
    for name, start, end in zip(names, cut, cut[1:]):
        write_csv(folder / name, images[start:end], labels[start:end], usages[start:end])
    dataset = load_dataset(folder, "PublicTest")
    _same(dataset, whole)
    assert dataset.sources[:2] == ["part-00.csv row 2", "part-00.csv row 3"]
    assert "part-01.csv.gz row 1" in dataset.sources  # row 21 of the whole
    assert "part-02.csv row 2" in dataset.sources  # row 23 of the whole, row 2 of its shard
    check_data_path(folder)


@pytest.mark.parametrize("kind", ["png", "list", "string"])
def test_parquet_file_and_folder_equal_the_csv(tmp_path, reference, kind):
    images, labels, usages, whole = reference
    single = write_parquet(tmp_path / "fer.parquet", images, labels, usages, kind)
    _same(load_dataset(single, "PublicTest"), whole)
    assert load_dataset(single, "PublicTest").sources[0] == "row 2"
    folder = tmp_path / "pq"
    folder.mkdir()
    write_parquet(folder / "b.parquet", images[30:], labels[30:], usages[30:], kind)
    write_parquet(folder / "a.parquet", images[:30], labels[:30], usages[:30], kind)
    dataset = load_dataset(folder, "PublicTest")
    _same(dataset, whole)
    assert dataset.sources[0] == "a.parquet row 2" and dataset.sources[-1] == "b.parquet row 26"
    check_data_path(single)
    check_data_path(folder)


def test_parquet_column_names_are_found_and_a_missing_split_column_is_allowed(tmp_path, small_data):
    images, labels = small_data
    path = write_parquet(tmp_path / "x.parquet", images, labels, None, "list", ("Pixels", "emotion", ""))
    dataset = load_dataset(path)
    np.testing.assert_array_equal(dataset.images, images)
    assert dataset.split is None
    with pytest.raises(InputError, match="x.parquet: --split PublicTest given"):
        load_dataset(path, "PublicTest")
    renamed = write_parquet(tmp_path / "y.parquet", images, labels, ["PublicTest"] * len(labels),
                            "png", ("img", "label", "split"))
    assert load_dataset(renamed).split == "PublicTest"


def test_a_bad_shard_is_named(tmp_path, small_data):
    images, labels = small_data
    folder = tmp_path / "shards"
    folder.mkdir()
    write_csv(folder / "a.csv", images[:10], labels[:10])
    bad = write_csv(folder / "b.csv", images[10:20], labels[10:20])
    bad.write_text(bad.read_text().replace(",PublicTest\n", " 30,PublicTest\n", 1))
    with pytest.raises(InputError, match=r"b\.csv: row 1 has 2305 pixel values"):
        load_dataset(folder)
    skipped = load_dataset(folder, skip_bad=True)
    assert len(skipped.labels) == 19 and skipped.skipped_examples == ["b.csv row 1: has 2305 pixel values, expected 2304"]
    (folder / "c.csv").write_text("label,image\n1,2 3\n")
    with pytest.raises(InputError, match=r"c\.csv: CSV header must have"):
        check_data_path(folder)


def test_bad_parquet_is_named(tmp_path, small_data):
    images, labels = small_data
    folder = tmp_path / "pq"
    folder.mkdir()
    write_parquet(folder / "a.parquet", images[:10], labels[:10], None)
    (folder / "b.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match=r"b\.parquet: not a readable Parquet file"):
        check_data_path(folder)
    broken = np.array([_png(images[0])[:40]], dtype=object)  # a truncated PNG
    pq.write_table(pa.table({"image": pa.array(broken.tolist(), pa.binary()),
                             "label": pa.array([9], pa.int64())}), folder / "b.parquet")
    with pytest.raises(InputError, match=r"b\.parquet: row 1 has an unreadable image"):
        load_dataset(folder)
    pq.write_table(pa.table({"pixels": pa.array([[1, 2]]), "label": pa.array([1.5])}), folder / "b.parquet")
    with pytest.raises(InputError, match=r"b\.parquet: label column 'label' holds double"):
        check_data_path(folder)
    pq.write_table(pa.table({"img": pa.array([1.5]), "label": pa.array([1])}), folder / "b.parquet")
    with pytest.raises(InputError, match=r"b\.parquet: image column 'img' holds double"):
        check_data_path(folder)
    pq.write_table(pa.table({"img": pa.array([[1] * 2303 + [None]]), "label": pa.array([1])}),
                   folder / "b.parquet")
    with pytest.raises(InputError, match=r"b\.parquet: cannot read Parquet rows from 1: .*missing"):
        load_dataset(folder)
    write_parquet(folder / "b.parquet", images[:3], np.array([0, 7, 1]), None, "list")
    with pytest.raises(InputError, match=r"b\.parquet: row 2 has emotion 7 outside 0–6"):
        load_dataset(folder)


def test_a_folder_of_both_kinds_is_refused(tmp_path, small_data):
    images, labels = small_data
    write_csv(tmp_path / "a.csv", images, labels)
    write_parquet(tmp_path / "b.parquet", images, labels, None)
    with pytest.raises(InputError, match="both CSV shards"):
        check_data_path(tmp_path)


def test_decoded_size_is_bounded_by_max_data_mb(tmp_path):
    n = 600  # 600 × 2304 bytes is over 1 MiB
    images = np.zeros((n, 48, 48), np.uint8)
    labels = np.zeros(n, np.int64)
    path = write_parquet(tmp_path / "big.parquet", images, labels, None, "list", row_group_size=100)
    with pytest.raises(InputError, match=r"big\.parquet: data holds more than .*--max-data-mb"):
        load_dataset(path, limits=InputLimits(max_data_mb=1))
    assert len(load_dataset(path).labels) == n
    folder = tmp_path / "shards"
    folder.mkdir()
    for i, start in enumerate(range(0, n, 200)):  # each shard is under 1 MiB as a file
        write_csv(folder / f"{i}.csv", images[start : start + 200], labels[start : start + 200])
    with pytest.raises(InputError, match=r"shards: data holds more than .*--max-data-mb"):
        load_dataset(folder, limits=InputLimits(max_data_mb=1))


def test_cli_bad_shard_is_one_line_exit_2(tmp_path, tiny_model_path, small_data):
    images, labels = small_data
    folder = tmp_path / "pq"
    folder.mkdir()
    write_parquet(folder / "a.parquet", images, labels, None)
    (folder / "z.parquet").write_bytes(b"PAR1 truncated")
    result = CliRunner().invoke(app, ["gate", "--quiet", "--model", str(tiny_model_path),
                                      "--data", str(folder), "--out", str(tmp_path / "out")])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, lines
    assert "z.parquet: not a readable Parquet file" in lines[0]
    assert not (tmp_path / "out" / "summary.json").exists()


@pytest.mark.slow
def test_gate_summary_is_the_same_from_parquet_shards(tmp_path, tiny_model_path, small_data):
    images, labels = small_data
    usages = _usages(len(labels))
    folder = tmp_path / "pq"
    folder.mkdir()
    write_parquet(folder / "a.parquet", images[:25], labels[:25], usages[:25])
    write_parquet(folder / "b.parquet", images[25:], labels[25:], usages[25:])
    summaries = []
    for data in (write_csv(tmp_path / "one.csv", images, labels, usages), folder):
        out = tmp_path / data.name.replace(".", "_")
        result = CliRunner().invoke(app, ["gate", "--quiet", "--model", str(tiny_model_path),
                                          "--data", str(data), "--split", "PublicTest", "--out", str(out)])
        assert result.exit_code in (0, 1), result.stderr
        summaries.append(json.loads((out / "summary.json").read_text()))
    for summary in summaries:
        summary.pop("timings"), summary["data"].pop("path")
        summary.pop("cases")  # sources differ by construction: "row R" and "a.parquet row R"
        summary["bias"].pop("seconds")
        for key in ("cached", "seconds"):  # the second run finds the first run's cache
            summary["bias"]["reference"].pop(key)
    assert summaries[0]["metrics"] == summaries[1]["metrics"]
    assert summaries[0]["bias"] == summaries[1]["bias"]
