"""Untrusted input: fuzzed loaders, inert markup, no network fetches, interrupted runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reportgen.errors import InputError
from reportgen.loading.data import load_dataset

REPO = Path(__file__).resolve().parent.parent
PIXELS = " ".join(["7"] * 2304)

csv_cells = st.one_of(
    st.sampled_from(["0", "3", "6", "7", "-1", "x", "", '"4"', PIXELS, PIXELS + " 9", PIXELS[:-2],
                     "PublicTest", "Training", "256 " * 2304]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
)
csv_rows = st.lists(st.lists(csv_cells, min_size=0, max_size=4), max_size=6)
headers = st.sampled_from(["emotion,pixels,Usage", "emotion,pixels", "pixels,emotion,Usage",
                           "emotion,Usage", "", "a,b,c"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=headers, rows=csv_rows, gz=st.booleans(), split=st.sampled_from([None, "PublicTest"]))
def test_fuzzed_csv_loads_or_fails_cleanly(tmp_path, header, rows, gz, split):
    import gzip

    text = "\n".join([header] + [",".join(row) for row in rows]).encode()
    path = tmp_path / ("f.csv.gz" if gz else "f.csv")
    path.write_bytes(gzip.compress(text) if gz else text)
    try:
        dataset = load_dataset(path, split)
    except InputError as err:
        assert str(err).startswith(str(path)) and "\n" not in str(err)
    else:
        assert dataset.images.shape[1:] == (48, 48) and len(dataset.images) == len(dataset.labels) > 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.tuples(st.sampled_from(["angry", "sad", "Happy", "other", "sad/deeper"]),
                                st.sampled_from(["a.jpg", "b.png", "c.txt", ".hidden", "d.JPG"]),
                                st.binary(max_size=64)), max_size=5),
       skip=st.booleans())
def test_fuzzed_folders_load_or_fail_cleanly(tmp_path_factory, files, skip):
    root = tmp_path_factory.mktemp("fuzz")
    for folder, name, content in files:
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / name).write_bytes(content)
    try:
        dataset = load_dataset(root, skip_bad=skip)
    except InputError as err:
        assert "\n" not in str(err)
    else:
        assert len(dataset.images) == len(dataset.labels) > 0


def _png(shape: tuple[int, ...], dtype: type = np.uint8) -> bytes:
    import io

    from PIL import Image

    high = 256 if dtype is np.uint8 else 65536
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(len(shape)).integers(0, high, shape).astype(dtype)).save(
        buffer, format="PNG")
    return buffer.getvalue()


def _bomb_png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (14000, 14000)).save(buffer, format="PNG")  # 196 megapixels in a few kB
    return buffer.getvalue()


# Near-valid inputs, so that many examples get past the parser and reach the pipeline.
# Repeated entries weigh the draw toward valid cells.
near_rows = st.tuples(st.sampled_from(["0", "3", "4", "6"] * 3 + ["7", "-1", "x", ""]),
                      st.sampled_from([PIXELS] * 6 + [PIXELS + " 9", PIXELS[:-2], "256 " * 2304, ""]),
                      st.sampled_from(["PublicTest"] * 4 + ["Training", "", "Private"])).map(list)
cli_rows = st.lists(st.one_of(near_rows, near_rows, near_rows, st.lists(csv_cells, max_size=4)),
                    max_size=8)
image_bytes = st.sampled_from([_png((48, 48))] * 4 + [_png((64, 64, 3)), _png((48, 48))[:40], b"",
                               b"GIF89a", _png((48, 48), np.uint16), _png((100, 100)), _bomb_png()])
# Oversized and compressed inputs: a gzip bomb of zeros after a valid header, an over-long line.
hostile_csv = st.sampled_from([b"emotion,pixels,Usage\n" + bytes(200_000), b"\0" * 100_000,
                               b"emotion,pixels,Usage\n0," + b"1 " * 40_000 + b",PublicTest\n"])
cli_files = st.lists(st.tuples(st.sampled_from(["angry", "sad", "Happy"] * 2 + ["other", "sad/deeper"]),
                               st.sampled_from(["a.png", "b.jpg", "a.png", "c.txt", ".hidden"]),
                               image_bytes), max_size=6)


@settings(max_examples=int(os.environ.get("REPORTGEN_FUZZ_EXAMPLES", "40")), deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(header=st.one_of(st.just("emotion,pixels,Usage"), headers), rows=cli_rows, files=cli_files,
       form=st.sampled_from(["csv", "csv.gz", "folders", "hostile.csv.gz"]),
       split=st.sampled_from([None, "PublicTest"]), skip=st.booleans(), hostile=hostile_csv,
       model=st.sampled_from(["tiny"] * 4 + ["two_inputs"]),
       limits=st.sampled_from([[]] * 3 + [["--max-image-pixels", "5000"], ["--max-row-kb", "8"]]))
def test_fuzzed_inputs_through_the_cli_exit_0_or_2_with_one_clear_line(
        tmp_path_factory, tiny_model_path, two_input_model_path, header, rows, files, form, split,
        skip, hostile, model, limits):
    """What a user meets: `reportgen gate` on malformed data never shows a traceback, a Python
    warning or an "unexpected" error; a refusal is exit 2, one line naming the input, no --out."""
    import gzip

    from typer.testing import CliRunner

    from reportgen.cli import app

    work = tmp_path_factory.mktemp("cli-fuzz")
    data = work / ("root" if form == "folders" else f"f.{form}")
    if form == "folders":
        data.mkdir()
        for folder, name, content in files:
            (data / folder).mkdir(parents=True, exist_ok=True)
            (data / folder / name).write_bytes(content)
    elif form == "hostile.csv.gz":
        data.write_bytes(gzip.compress(hostile))
    else:
        text = "\n".join([header] + [",".join(row) for row in rows]).encode()
        data.write_bytes(gzip.compress(text) if form == "csv.gz" else text)
    out = work / "out"
    model_path = tiny_model_path if model == "tiny" else two_input_model_path
    args = ["gate", "--model", model_path, "--data", data, "--out", out, "--quiet", "--policy", "none",
            *limits]
    args += (["--split", split] if split else []) + (["--skip-bad-rows"] if skip else [])
    result = CliRunner().invoke(app, [str(a) for a in args])
    event(f"exit {result.exit_code}")
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output and "Warning:" not in result.stderr, result.stderr
    if result.exit_code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("reportgen: error: "), lines
        assert "unexpected" not in lines[0] and not out.exists()
    else:
        assert (out / "summary.json").is_file()


def test_class_names_and_paths_render_inert(tmp_path, tiny_model_path, small_csv):
    import json

    from typer.testing import CliRunner

    from reportgen.cli import app

    evil = "<script>alert(1)</script>"
    names = f"{evil},disgust,fear,happy,sad,surprise,neutral"
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["audit", "--model", str(tiny_model_path), "--data", str(small_csv),
                                      "--out", str(out), "--class-names", names, "--methods", "saliency",
                                      "--quiet", "--policy", "none"])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert evil not in html and "&lt;script&gt;" in html
    assert json.loads((out / "summary.json").read_text())["data"]["class_names"][0] == evil


def test_pdf_renderer_fetches_only_data_uris():
    from reportgen.report.render import data_only_fetcher, render_pdf

    fetcher = data_only_fetcher()
    for url in ["http://example.com/x.png", "https://example.com/a.css", "file:///etc/passwd"]:
        with pytest.raises(ValueError, match="disallowed protocol"):
            fetcher.fetch(url)
    png = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAA"
           "AgABSK+kcQAAAABJRU5ErkJggg==")
    assert fetcher.fetch(png).status in (None, 200)
    pdf = render_pdf(f'<img src="http://127.0.0.1:9/x.png"><img src="{png}"><p>ok</p>')
    assert pdf.startswith(b"%PDF")


# Runs the CLI with a pause injected at the start of one stage: the child says where it is,
# then waits there, so the signal always lands in that stage however loaded the machine is.
PAUSED_CLI = """
import signal, sys, time
# A shell that starts pytest in the background leaves SIGINT ignored in its children; a user's
# Ctrl-C is not, so restore Python's usual handler.
signal.signal(signal.SIGINT, signal.default_int_handler)
from contextlib import contextmanager
from reportgen import progress
from reportgen.cli import app

stage = progress.Reporter.stage

@contextmanager
def paused(self, name, total=1):
    with stage(self, name, total) as advance:
        if name == sys.argv[1]:
            print("PAUSED", flush=True)
            time.sleep(120)
        yield advance

progress.Reporter.stage = paused
app(sys.argv[2:], prog_name="reportgen")
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_no_report(tmp_path, tiny_model_path, small_csv, sig):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = subprocess.Popen([sys.executable, "-c", PAUSED_CLI, "Loading data", "audit", "--model",
                             str(tiny_model_path), "--data", str(small_csv), "--out", str(out),
                             "--methods", "saliency", "--quiet"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "PAUSED"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-500:]
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"], err[-500:]
    # The last line: TensorFlow's C++ start-up (cuInit on hosts without a GPU) may print before it.
    assert err.strip().splitlines()[-1] == "reportgen: error: interrupted; no report was written"
    assert "Traceback" not in err


def test_interrupts_while_files_move_into_place_are_deferred(tmp_path):
    from reportgen.report.output import interrupts_deferred, write_files

    (tmp_path / "report.pdf").write_bytes(b"old")
    # Python's usual handler, also when a background shell started pytest with SIGINT ignored.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with interrupts_deferred() as received:
            os.kill(os.getpid(), signal.SIGINT)  # would raise KeyboardInterrupt right here
            written = write_files(tmp_path, {"report.html": b"new", "report.pdf": b"new"})
        assert received == [signal.SIGINT]
        assert [p.read_bytes() for p in written] == [b"new", b"new"]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.pdf"]
        with pytest.raises(KeyboardInterrupt):  # the usual handler is back afterwards
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
    finally:
        signal.signal(signal.SIGINT, previous)
