"""FER2013 loaders: CSV (plain and gzipped) and image folders, with their errors."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.errors import InputError
from reportgen.loading.data import decode_pixel_rows, load_dataset
from tests.conftest import write_csv, write_folders


def test_csv_and_folders_load_the_same_images(tmp_path, small_data):
    images, labels = small_data
    csv = load_dataset(write_csv(tmp_path / "fer.csv.gz", images, labels))
    folders = load_dataset(write_folders(tmp_path / "root", images, labels))
    order = np.lexsort((csv.images.reshape(len(csv.labels), -1).sum(1), csv.labels))
    order_f = np.lexsort((folders.images.reshape(len(folders.labels), -1).sum(1), folders.labels))
    np.testing.assert_array_equal(csv.images[order], folders.images[order_f])
    np.testing.assert_array_equal(csv.labels[order], folders.labels[order_f])
    assert csv.sources[0] == "row 1" and folders.sources[0].endswith(".png")
    assert csv.split == "PublicTest"


def test_csv_split_selects_usage_and_keeps_row_numbers(tmp_path, small_data):
    images, labels = small_data
    usages = ["Training", "PublicTest"] * (len(labels) // 2)
    path = write_csv(tmp_path / "fer.csv", images, labels, usages)
    dataset = load_dataset(path, "PublicTest")
    assert len(dataset.labels) == len(labels) // 2
    assert dataset.sources[:2] == ["row 2", "row 4"]
    np.testing.assert_array_equal(dataset.images[0], images[1])
    with pytest.raises(InputError, match="several splits"):
        load_dataset(path)
    with pytest.raises(InputError, match="no rows with Usage 'PrivateTest'"):
        load_dataset(path, "PrivateTest")


def test_csv_saved_by_a_spreadsheet_with_bom_and_crlf_loads(tmp_path, small_data):
    images, labels = small_data
    plain = write_csv(tmp_path / "fer.csv", images, labels)
    spreadsheet = tmp_path / "excel.csv"
    spreadsheet.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes().replace(b"\n", b"\r\n"))
    dataset = load_dataset(spreadsheet, "PublicTest")
    np.testing.assert_array_equal(dataset.images, load_dataset(plain).images)
    np.testing.assert_array_equal(dataset.labels, labels)


def test_decoder_matches_python_parsing():
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 256, size=(5, 2304))
    fields = [" ".join(map(str, row)).encode() for row in rows]
    fields[2] = b"  " + fields[2].replace(b" ", b"   ", 10)  # irregular spacing is still valid
    images, problems = decode_pixel_rows(fields)
    assert problems == []
    np.testing.assert_array_equal(images.reshape(5, -1), rows)


@pytest.mark.parametrize(
    ("pixels", "problem"),
    [("1 2 3", "3 pixel values"), (" ".join(["300"] * 2304), "outside 0–255"),
     (" ".join(["x"] * 2304), "non-numeric")],
)
def test_bad_pixel_rows_are_named(tmp_path, pixels, problem):
    good = " ".join(["0"] * 2304)
    path = tmp_path / "bad.csv"
    path.write_text(f"emotion,pixels,Usage\n0,{good},PublicTest\n3,{pixels},PublicTest\n")
    with pytest.raises(InputError, match=f"row 2 has .*{problem}"):
        load_dataset(path)
    skipped = load_dataset(path, skip_bad=True)
    assert len(skipped.labels) == 1 and skipped.n_skipped == 1


def test_wrong_columns_and_labels(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("label,data\n0,1 2\n")
    with pytest.raises(InputError, match="header must have columns emotion,pixels"):
        load_dataset(path)
    path.write_text("emotion,pixels,Usage\n9," + " ".join(["0"] * 2304) + ",PublicTest\n")
    with pytest.raises(InputError, match="emotion 9 outside"):
        load_dataset(path)


def test_folder_errors(tmp_path, small_data):
    images, labels = small_data
    root = write_folders(tmp_path / "root", images[:14], labels[:14])
    (root / "contempt").mkdir()
    with pytest.raises(InputError, match="unknown class folder.*contempt"):
        load_dataset(root)
    (root / "contempt").rmdir()
    (root / "angry" / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(InputError, match="broken.jpg: unreadable image"):
        load_dataset(root)
    assert load_dataset(root, skip_bad=True).n_skipped == 1


def test_split_folders_and_case_insensitive_names(tmp_path, small_data):
    images, labels = small_data
    write_folders(tmp_path / "root" / "Test", images, labels)
    (tmp_path / "root" / "Test" / "angry").rename(tmp_path / "root" / "Test" / "Angry")
    dataset = load_dataset(tmp_path / "root", "test")
    assert dataset.class_counts["angry"] == 8
    with pytest.raises(InputError, match="holds split folders .*--split"):
        load_dataset(tmp_path / "root")
    with pytest.raises(InputError, match="no split folder 'train'"):
        load_dataset(tmp_path / "root", "train")


def test_missing_and_empty_inputs(tmp_path):
    with pytest.raises(InputError, match="data not found"):
        load_dataset(tmp_path / "nope.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no images"):
        load_dataset(tmp_path / "empty")
    (tmp_path / "header.csv").write_text("emotion,pixels,Usage\n")
    with pytest.raises(InputError, match="holds no images"):
        load_dataset(tmp_path / "header.csv")


def test_other_splits_are_found_for_cross_split_checks(tmp_path, small_data):
    from reportgen.loading.data import load_other_splits

    images, labels = small_data
    usages = ["Training", "PublicTest"] * (len(labels) // 2)
    csv = load_dataset(write_csv(tmp_path / "fer.csv", images, labels, usages), "PublicTest")
    assert {k: len(v) for k, v in load_other_splits(csv).items()} == {"Training": len(labels) // 2}
    write_folders(tmp_path / "root" / "train", images[:10], labels[:10])
    write_folders(tmp_path / "root" / "test", images[10:], labels[10:])
    folders = load_dataset(tmp_path / "root", "test")
    assert {k: len(v) for k, v in load_other_splits(folders).items()} == {"train": 10}
    assert load_other_splits(load_dataset(tmp_path / "root" / "test")) == {}
