"""Hostile and unlucky inputs (issue 16): each refused with exit 2 and one line, bounded in memory,
before any work where it can be; a failed run leaves the previous report and no new folders."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from reportgen.cli import app
from reportgen.errors import InputError
from reportgen.loading.data import load_dataset
from reportgen.loading.limits import InputLimits
from reportgen.loading.modelfile import check_model_file
from reportgen.preflight import preflight
from reportgen.report.output import replace_all
from tests.conftest import write_csv
from tests.policy.conftest import build_summary


@pytest.fixture
def make_summary():
    return build_summary


REPO = Path(__file__).resolve().parent.parent
HEADER = b"emotion,pixels,Usage\n"
MiB = 1 << 20


def _gate(*args: object) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["gate", "--quiet", *map(str, args)])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return result.exit_code, lines


def _one_error(code: int, lines: list[str], *needles: str) -> str:
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith("reportgen: error: "), lines
    assert "unexpected" not in lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _gzip_of_zeros(path: Path, n_mib: int, prefix: bytes = b"") -> Path:
    zeros = bytes(MiB)
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(prefix)
        for _ in range(n_mib):
            handle.write(zeros)
    return path


def _peak_rss_mib(code: str) -> tuple[float, str]:
    """Run ``code`` in a fresh interpreter; its own peak resident memory (MiB) and its stdout."""
    # VmHWM, not getrusage: ru_maxrss survives exec, so a child of a 1 GB pytest reads 1 GB.
    wrapped = (f"try:\n{textwrap.indent(code, '    ')}\nfinally:\n"
               "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
               "    print('PEAK', hwm.split()[1], flush=True)\n")
    done = subprocess.run([sys.executable, "-c", wrapped], cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)
    *lines, peak = done.stdout.strip().splitlines()
    assert peak.startswith("PEAK"), done.stderr[-2000:]
    return int(peak.split()[1]) / 1024, "\n".join(lines) + done.stderr


LOAD_AND_REPORT = """
from reportgen.errors import InputError
from reportgen.loading.data import load_dataset
try:
    load_dataset({path!r})
except InputError as err:
    print(err)
"""


# ---- 1. SavedModels run code ----------------------------------------------------------------

def test_saved_model_needs_trust_before_anything_loads(tmp_path, small_csv):
    saved = tmp_path / "exported"
    saved.mkdir()
    (saved / "saved_model.pb").write_bytes(b"\x08\x01")  # never parsed: refused on sight
    line = _one_error(*_gate("--model", saved, "--data", small_csv, "--out", tmp_path / "out"),
                      str(saved), "--trust-model", ".keras")
    assert "runs its own graph code" in line and not (tmp_path / "out").exists()


# ---- 2. Unbounded input ---------------------------------------------------------------------

def test_gzip_bomb_of_zeros_is_refused_at_the_header_in_little_memory(tmp_path):
    bomb = _gzip_of_zeros(tmp_path / "fer2013.csv.gz", 1024)  # 1 GiB of zeros in ~1 MB
    assert bomb.stat().st_size < 8 * MiB
    peak, message = _peak_rss_mib(LOAD_AND_REPORT.format(path=str(bomb)))
    assert "--max-row-kb" in message and str(bomb) in message
    assert peak < 400, peak


def test_gzip_bomb_after_a_valid_header_is_refused_by_row_length(tmp_path):
    bomb = _gzip_of_zeros(tmp_path / "fer2013.csv.gz", 1024, prefix=HEADER)
    peak, message = _peak_rss_mib(LOAD_AND_REPORT.format(path=str(bomb)))
    assert "longer than 64 kB" in message and "--max-row-kb" in message
    assert peak < 400, peak


def test_decompressed_size_is_bounded_and_the_limit_is_an_option(tmp_path, small_data):
    images, labels = small_data
    path = write_csv(tmp_path / "fer2013.csv.gz", np.tile(images, (20, 1, 1)), np.tile(labels, 20))
    with pytest.raises(InputError, match=r"over the --max-data-mb limit of 1 MiB"):
        load_dataset(path, limits=InputLimits(max_data_mb=1))
    assert len(load_dataset(path, limits=InputLimits(max_data_mb=64)).labels) == 20 * len(labels)


def test_sparse_csv_is_refused_before_its_body_is_read(tmp_path):
    sparse = tmp_path / "fer2013.csv"
    with open(sparse, "wb") as handle:
        handle.truncate(2 << 30)  # 2 GiB on paper, nothing on disk
    peak, message = _peak_rss_mib(LOAD_AND_REPORT.format(path=str(sparse)))
    assert "first line is longer" in message and peak < 400, (message, peak)
    with open(sparse, "r+b") as handle:  # a valid header, then 2 GiB of nothing
        handle.write(HEADER)
    peak, message = _peak_rss_mib(LOAD_AND_REPORT.format(path=str(sparse)))
    assert "--max-data-mb" in message and peak < 400, (message, peak)


def test_data_through_a_symlink_to_a_device_is_refused(tmp_path, tiny_model_path):
    link = tmp_path / "fer2013.csv"
    link.symlink_to("/dev/zero")
    _one_error(*_gate("--model", tiny_model_path, "--data", link, "--out", tmp_path / "out"),
               str(link), "not a regular file")


def _zip(path: Path, members: dict[str, int]) -> Path:
    """A zip whose members are ``size`` MiB of zeros each (highly compressible)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, size in members.items():
            with archive.open(name, "w", force_zip64=True) as member:
                for _ in range(size):
                    member.write(bytes(MiB))
    return path


def test_keras_zip_bombs_are_refused_before_keras_reads_them(tmp_path, small_csv):
    weights = _zip(tmp_path / "weights.keras", {"config.json": 0, "model.weights.h5": 64})
    config = _zip(tmp_path / "config.keras", {"config.json": 20})
    assert weights.stat().st_size < 2 * MiB and config.stat().st_size < 2 * MiB
    _one_error(*_gate("--model", weights, "--data", small_csv), str(weights), "model.weights.h5",
               "zip bomb")
    _one_error(*_gate("--model", config, "--data", small_csv), str(config), "config.json", "16 MiB")
    with pytest.raises(InputError, match="--max-model-mb limit of 10 MiB"):
        check_model_file(weights, limits=InputLimits(max_model_mb=10))


def test_zip_bomb_model_costs_little_memory_through_the_cli(tmp_path, small_csv):
    bomb = _zip(tmp_path / "bomb.keras", {"config.json": 0, "model.weights.h5": 256})
    peak, output = _peak_rss_mib("from reportgen.cli import app\n"
                                 f"app(['gate', '--model', {str(bomb)!r}, '--data', {str(small_csv)!r}])")
    assert output.count("reportgen: error:") == 1 and "zip bomb" in output, output
    assert peak < 1024, peak


# ---- 3. All-or-nothing replacement ----------------------------------------------------------

def test_a_target_that_is_a_folder_is_found_before_the_run(tmp_path, tiny_model_path, small_csv,
                                                            monkeypatch):
    out = tmp_path / "out"
    (out / "summary.json").mkdir(parents=True)
    (out / "report.html").write_text("old")
    monkeypatch.setattr("reportgen.pipeline.run_audit", _must_not_run)
    _one_error(*_gate("--model", tiny_model_path, "--data", small_csv, "--out", out),
               str(out / "summary.json"), "not a regular file")
    assert (out / "report.html").read_text() == "old"


def test_junit_beside_a_file_is_found_before_the_run(tmp_path, tiny_model_path, small_csv, monkeypatch):
    blocker = tmp_path / "ci"
    blocker.write_text("a file, not a folder")
    monkeypatch.setattr("reportgen.pipeline.run_audit", _must_not_run)
    _one_error(*_gate("--model", tiny_model_path, "--data", small_csv, "--out", tmp_path / "out",
                      "--junit", blocker / "checks.xml"), "checks.xml", "not a directory")
    assert not (tmp_path / "out").exists()


def _must_not_run(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the pipeline ran although the inputs were bad")


def test_failed_replacement_restores_every_previous_file(tmp_path, monkeypatch):
    for name in ("report.html", "report.pdf", "summary.json"):
        (tmp_path / name).write_text(f"old {name}")
    real_replace = os.replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if Path(dst).name == "summary.json" and not str(src).endswith("-old"):
            raise OSError(28, "No space left on device", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr("reportgen.report.output.os.replace", flaky)
    targets = {tmp_path / n: b"new" for n in ("report.html", "report.pdf", "summary.json")}
    with pytest.raises(InputError, match=r"summary.json: cannot write: No space left on device"):
        replace_all(targets)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        n: f"old {n}" for n in ("report.html", "report.pdf", "summary.json")}


def test_full_disk_names_the_path_and_keeps_the_old_report(tmp_path, tiny_model_path, small_csv,
                                                           monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("old")

    def full(target, content):
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr("reportgen.report.output._stage", full)
    _one_error(*_gate("--model", tiny_model_path, "--data", small_csv, "--out", out, "--quiet"),
               "summary.json", "No space left on device")
    assert (out / "summary.json").read_text() == "old"


def test_unwritable_out_is_found_before_the_run(tmp_path, tiny_model_path, small_csv, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()

    def refused(*_args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr("reportgen.report.output.tempfile.mkstemp", refused)
    monkeypatch.setattr("reportgen.pipeline.run_audit", _must_not_run)
    line = _one_error(*_gate("--model", tiny_model_path, "--data", small_csv, "--out", out),
                      str(out), "Read-only file system")
    assert ".reportgen-" not in line  # names the folder, not a hidden temporary one


# ---- 4. 16-bit and other image modes --------------------------------------------------------

def _save(path: Path, array: np.ndarray, mode: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path) if mode else Image.fromarray(array).save(path)


def test_16_bit_pngs_are_scaled_not_clipped_and_the_conversion_is_stated(tmp_path):
    levels = np.array([0, 40, 128, 200, 255], np.uint16)
    for k, level in enumerate(levels):
        _save(tmp_path / "sad" / f"{k}.png", np.full((48, 48), level * 257, np.uint16))
    _save(tmp_path / "happy" / "rgb.png", np.full((48, 48, 3), 90, np.uint8))
    dataset = load_dataset(tmp_path)
    sad = dataset.images[dataset.labels == 4]
    assert sorted(sad.reshape(len(sad), -1).max(axis=1)) == levels.tolist()
    assert dataset.conversions == {"16-bit grey (I;16) scaled to 8 bits": 5, "RGB converted to grey": 1}

    from reportgen.pipeline import _notes
    from reportgen.result import ModelReport

    no_warning = SimpleNamespace(warning=None)  # a scale decision that did not warn
    evaluation = SimpleNamespace(confusion=np.diag([10] * 7))  # no sign of permuted labels
    options = SimpleNamespace(notes=(), class_names=dataset.class_names)
    note = _notes(dataset, ModelReport(None, no_warning, False, 0),  # type: ignore[arg-type]
                  evaluation, options)[0]  # type: ignore[arg-type]
    assert "5 16-bit grey (I;16) scaled to 8 bits" in note


# ---- 5. Models with several inputs or outputs -----------------------------------------------

@pytest.mark.parametrize("kind", ["inputs", "outputs"])
def test_multi_input_or_output_models_are_refused_naming_the_file(tmp_path, kind, small_csv):
    import keras

    first = keras.Input((48, 48, 1))
    flat = keras.layers.Flatten()(first)
    if kind == "inputs":
        second = keras.Input((48, 48, 1))
        merged = keras.layers.Add()([flat, keras.layers.Flatten()(second)])
        model = keras.Model([first, second], keras.layers.Dense(7, activation="softmax")(merged))
    else:
        model = keras.Model(first, [keras.layers.Dense(7)(flat), keras.layers.Dense(1)(flat)])
    path = tmp_path / f"two_{kind}.keras"
    model.save(path)
    _one_error(*_gate("--model", path, "--data", small_csv, "--out", tmp_path / "out"),
               str(path), f"model has 2 {kind}")


# ---- 6. Decompression-bomb images -----------------------------------------------------------

def test_decompression_bomb_image_is_named_and_skippable(tmp_path, tiny_model_path, small_csv):
    root = tmp_path / "faces"
    _save(root / "sad" / "ok.png", np.full((48, 48), 100, np.uint8))
    _save(root / "happy" / "ok.png", np.full((48, 48), 200, np.uint8))
    bomb = root / "sad" / "bomb.png"
    Image.new("1", (14000, 14000)).save(bomb)  # 196 megapixels in a few kB
    assert bomb.stat().st_size < MiB
    _one_error(*_gate("--model", tiny_model_path, "--data", root, "--out", tmp_path / "a"),
               str(bomb), "--max-image-pixels")
    result = CliRunner().invoke(app, ["gate", "--model", str(tiny_model_path), "--data", str(root),
                                      "--out", str(tmp_path / "b"), "--skip-bad-rows", "--quiet",
                                      "--policy", "none"])
    assert result.exit_code == 0, result.stderr
    assert "bomb.png" in json.loads((tmp_path / "b" / "summary.json").read_text())["notes"][0]
    # Just over the limit, below Pillow's own guard: refused by reportgen's header check.
    big = root / "sad" / "big.png"
    Image.new("1", (100, 100)).save(big)
    with pytest.raises(InputError, match=r"big.png: image of 100×100 pixels is over"):
        load_dataset(root, limits=InputLimits(max_image_pixels=5000))


# ---- 7. Baselines ---------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "problem"), [
    (lambda s: s.update(schema_version=2), "schema_version 2 is not 1"),
    (lambda s: s.pop("model"), "missing key model"),
    (lambda s: s["metrics"].update(accuracy=-3), "metrics.accuracy is -3, outside 0–1"),
    (lambda s: s["metrics"]["per_class"]["sad"].update(recall=5.0), "sad.recall is 5.0, outside 0–1"),
    (lambda s: s["data"].update(class_names=list("abcdefg")), "differ from this run's"),
])
def test_bad_baselines_are_refused_before_the_pipeline(tmp_path, make_summary, change, problem,
                                                       tiny_model_path, small_csv, monkeypatch):
    summary = make_summary()
    change(summary)
    path = tmp_path / "base line.json"
    path.write_text(json.dumps(summary))
    monkeypatch.setattr("reportgen.pipeline.run_audit", _must_not_run)
    _one_error(*_gate("--model", tiny_model_path, "--data", small_csv, "--baseline", path),
               str(path), problem)


def test_policy_naming_an_unknown_class_is_refused_before_the_pipeline(tmp_path, tiny_model_path,
                                                                        small_csv, monkeypatch):
    policy = tmp_path / "policy.toml"
    policy.write_text("[thresholds]\nmin_recall = { default = 0.1, contempt = 0.2 }\n")
    monkeypatch.setattr("reportgen.pipeline.run_audit", _must_not_run)
    _one_error(*_gate("--model", tiny_model_path, "--data", small_csv, "--policy", policy),
               str(policy), "no class named 'contempt'")


# ---- 8 and 9. "Unexpected" and multi-line errors --------------------------------------------

@pytest.mark.parametrize(("args", "needle"), [
    (["--seed", "-1"], "--seed: must be an integer from 0"),
    (["--batch-size", "0"], "Invalid value for '--batch-size': Input should be greater than or equal to 1"),
    (["--bogus"], "No such option: --bogus"),
    (["--sede", "3"], "Possible options: --baseline, --model, --seed"),
    (["--max-row-kb", "0"], "'--max-row-kb'"),
])
def test_usage_errors_are_one_line(args, needle, tmp_path):
    code, lines = _gate(*args, "--out", tmp_path / "out")
    line = _one_error(code, lines, needle)
    assert line.endswith("(see 'reportgen gate --help')") or "--seed" in line


def test_file_names_with_newlines_stay_on_one_line(tmp_path):
    odd = tmp_path / "two\nlines.keras"
    code, lines = _gate("--model", odd)
    assert "two\\nlines.keras" in _one_error(code, lines, "model not found")


# ---- 10. No empty folders left behind -------------------------------------------------------

def test_failed_run_removes_the_folders_it_created(tmp_path, tiny_model_path):
    data = tmp_path / "fer2013.csv"
    data.write_bytes(HEADER + b"9,1 2 3,PublicTest\n")  # passes the preflight, fails loading
    out = tmp_path / "a" / "b" / "c"
    _one_error(*_gate("--model", tiny_model_path, "--data", data, "--out", out,
                      "--junit", tmp_path / "j" / "k" / "checks.xml"), "row 1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fer2013.csv"]


# ---- issue 14 item 3: errors before work, fast ----------------------------------------------

def test_preflight_imports_no_tensorflow_and_answers_within_a_second(tmp_path):
    code = ("import sys, time; t = time.perf_counter(); from reportgen.cli import app\n"
            "try:\n    app(['audit', '--model', 'nope.keras'])\nexcept SystemExit as e:\n"
            "    assert e.code == 2\n"
            "print(time.process_time(), 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    cpu, tf_loaded, keras_loaded = done.stdout.split()
    assert (tf_loaded, keras_loaded) == ("False", "False")
    assert float(cpu) < 1.0  # CPU time, not wall time: a loaded machine does not make it flaky
    assert done.stderr.strip() == "reportgen: error: nope.keras: model not found"


def test_preflight_returns_the_validated_policy_and_baseline(tmp_path, make_summary, small_csv,
                                                              tiny_model_path):
    base = tmp_path / "summary.json"
    base.write_text(json.dumps(make_summary()))
    inputs = preflight(model=tiny_model_path, data=small_csv, baseline=base, out=tmp_path / "new",
                       class_names=("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"))
    assert inputs.baseline == make_summary() and inputs.policy is None
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_csv_header_is_checked_before_any_work(tmp_path, tiny_model_path, monkeypatch):
    data = tmp_path / "fer2013.csv"
    data.write_bytes(b"label,image\n" + b"1,2\n" * 10)
    monkeypatch.setattr("reportgen.progress.import_tensorflow_quietly", _must_not_run)
    _one_error(*_gate("--model", tiny_model_path, "--data", data), "CSV header must have columns")
