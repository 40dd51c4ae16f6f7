"""The Ray executor gives the local executor's results bit for bit, on a real local Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# Under ``uv run`` Ray would start its workers with ``uv run`` (re-syncing the environment).
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
ray = pytest.importorskip("ray")

import reportgen
from reportgen import executors
from reportgen.bias.probes import PROBES
from reportgen.errors import InputError
from reportgen.executors import LocalExecutor, ModelPass, ModelSpec
from reportgen.executors.ray import BlockFailed, RayExecutor, one_line
from reportgen.loading.pixels import InputScale
from tests.conftest import DEMO_CSV, REPO, brightness_model, make_classifier

sys.path.insert(0, str(REPO / "benchmarks"))
from compare_summaries import differences

FER2013 = REPO.parent / "shared" / "fer2013"
SAMPLE = REPO / "sample_models" / "fer_cnn.keras"


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _summary_differences(data: Path | tuple, **kwargs) -> list[str]:
    local, remote = (reportgen.api._api_run(  # the Audit, whose summary holds everything
        "gate", kwargs.get("model"), data, kwargs.get("split"), 0, "auto", None, None, None, 256,
        False, False, True, {"executor": name}).summary for name in ("local", "ray"))
    for summary in (local, remote):
        summary.pop("environment")
    assert remote != {} and "metrics" in remote
    return differences(local, remote, None)


def test_ray_gives_the_local_summary_on_the_demo() -> None:
    assert _summary_differences(DEMO_CSV) == []


def test_ray_gives_the_local_summary_on_a_spilled_split(monkeypatch) -> None:
    monkeypatch.setenv("REPORTGEN_SPILL_MB", "0")
    assert _summary_differences(DEMO_CSV) == []


def test_ray_gives_the_local_arrays_over_many_blocks(monkeypatch, demo_data) -> None:
    """Blocks of 64 (six of them on the demo), the reference too, an in-memory model."""
    monkeypatch.setattr(executors, "BLOCK_IMAGES", 64)
    images, _ = demo_data
    classifier = make_classifier(brightness_model())
    spec = ModelSpec(classifier.model.path, False, InputScale.RAW, (48, 48), 32)
    reference = ModelSpec(SAMPLE, False, InputScale.UNIT, (48, 48), 32)
    job = ModelPass(spec, tuple(PROBES)[:3], reference)
    local = LocalExecutor().model_pass(job, images, spec.build(classifier.model), reference.build())
    counted: list[int] = []
    executor = RayExecutor(actors=2)
    remote = executor.model_pass(job, images, classifier, None, counted.append,
                                 loaded=classifier.model)
    assert sorted(counted) == [30, 64, 64, 64, 64, 64]
    assert executor.description == "ray (2 actors at a local Ray)"
    for name in ("outputs", "probe_preds", "reference_before", "reference_after"):
        np.testing.assert_array_equal(getattr(remote, name), getattr(local, name))
        assert getattr(remote, name).dtype == getattr(local, name).dtype


def test_a_failing_block_is_one_input_error_naming_its_images(monkeypatch, demo_data) -> None:
    monkeypatch.setattr(executors, "BLOCK_IMAGES", 256)
    images, _ = demo_data
    spec = ModelSpec(SAMPLE, False, InputScale.UNIT, (48, 48), 32)
    job = ModelPass(spec, tuple(PROBES)[:1])
    wrong_size = np.full(images.shape, "x", dtype=object)  # not numbers: predict raises
    with pytest.raises(InputError) as caught:
        RayExecutor(actors=1).model_pass(job, wrong_size, spec.build(), None)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("--executor ray: images ") and "Error" in message


def test_one_line_finds_the_block_inside_ray_errors() -> None:
    failed = BlockFailed(2048, 4096, ValueError("bad shard\nmore"))
    assert str(failed) == "images 2048–4095: ValueError: bad shard"
    wrapped = RuntimeError("Traceback ...\n  File x\nBlockFailed: images 0–9: OSError: gone\n")
    assert one_line(wrapped) == "images 0–9: OSError: gone"
    try:
        raise RuntimeError("outer") from failed
    except RuntimeError as err:
        assert one_line(err) == str(failed)


def test_environment_names_the_executor() -> None:
    audit = reportgen.api._api_run("gate", None, None, None, 0, "auto", None, None, None, 256,
                                   False, False, True, {"executor": "ray"})
    assert audit.summary["environment"]["executor"].startswith("ray (")


@pytest.mark.slow
def test_gate_on_the_command_line_with_ray(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "reportgen", "gate", "--executor", "ray",
                           "--out", str(out)], check=False, capture_output=True, text=True,
                          timeout=600,
                          env={**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"})
    assert done.returncode in (0, 1), done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["environment"]["executor"].startswith("ray (")


@pytest.mark.slow
def test_ray_gives_the_local_summary_on_fer2013_public_test() -> None:
    if not (FER2013 / "PublicTest").is_dir():
        pytest.skip(f"{FER2013} not found")
    assert _summary_differences(FER2013, split="PublicTest") == []
