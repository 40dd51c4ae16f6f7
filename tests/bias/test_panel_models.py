"""Detectors told nothing about the shortcut, on trained models (slow, FER2013 PublicTest).

- Every planted model of a *new* kind (``sample_models/planted``: a checkerboard texture, a
  diagonal grating over the whole image, a hollow ring, a thin diagonal line; none of them an
  edit that the probes or the old patch scan enumerate) gets a warning or critical finding
  toward its planted class, also with the detector closest to its kind switched off.
- Every clean model gets no critical finding: each panel member judged against the rest of the
  panel (leave one out), the bundled sample model and its fine-tuned clean twin.

Models of other kinds can be added with ``$REPORTGEN_PLANTED_MODELS`` (folders holding
``NAME.keras`` and ``NAME.train.json`` training records that name the planted class).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reportgen.bias.findings import Severity

REPO = Path(__file__).resolve().parents[2]
PUBLIC_TEST = REPO.parent / "shared" / "fer2013" / "PublicTest"
PLANTED = [REPO / "sample_models" / "planted",
           *(Path(p) for p in os.environ.get("REPORTGEN_PLANTED_MODELS", "").split(":") if p)]
# the detector closest to each kind, switched off in the second check
CLOSEST = {"checker": "patch-scan", "ring": "patch-scan", "diagonal": "patch-scan",
           "grating": "noise", "corner-mark": "patch-scan", "top-stripe": "patch-scan",
           "dark-periphery": "darkening", "dark-sad": "darkening"}
CLEAN = [*sorted((REPO / "sample_models" / "panel").glob("*.keras")),
         REPO / "sample_models" / "fer_cnn.keras", REPO / "sample_models" / "fer_cnn_ft_clean.keras"]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not PUBLIC_TEST.is_dir(), reason="FER2013 PublicTest not available")]


def _planted() -> list[tuple[Path, dict]]:
    models = []
    for folder in PLANTED:
        for path in sorted(folder.glob("*.keras")):
            record = path.with_name(path.stem + ".train.json")
            if record.exists():
                models.append((path, json.loads(record.read_text())["planted"]))
    return models


@pytest.fixture(scope="module")
def public_test():
    from reportgen.loading.data import load_dataset

    return load_dataset(PUBLIC_TEST)


def _gate(path: Path, dataset, skip: tuple[str, ...] = ()):
    from reportgen.pipeline import run_audit
    from reportgen.progress import Reporter
    from reportgen.result import AuditOptions, Command

    options = AuditOptions(model_path=path, data_path=PUBLIC_TEST, command=Command.GATE, skip=skip)
    with Reporter(quiet=True) as reporter:
        return run_audit(options, reporter, dataset=dataset)


@pytest.mark.parametrize("skip_closest", [False, True], ids=["all", "closest-off"])
@pytest.mark.parametrize("model", _planted(), ids=lambda m: m[0].stem if isinstance(m, tuple) else "")
def test_planted_shortcut_of_a_new_kind_is_found(model, skip_closest, public_test) -> None:
    path, planted = model
    skip = (CLOSEST[planted["shortcut"]],) if skip_closest else ()
    findings = _gate(path, public_test, skip).bias.findings
    toward = [f for f in findings if f.class_name == planted["class"]
              and f.severity.rank >= Severity.WARNING.rank and f.shared is not True]
    assert toward, [f.text[:120] for f in findings[:5]]


@pytest.mark.parametrize("path", [p for p in CLEAN if p.exists()], ids=lambda p: p.stem)
def test_clean_models_get_no_critical_finding(path: Path, public_test) -> None:
    result = _gate(path, public_test)
    critical = [f.text[:160] for f in result.bias.findings if f.severity is Severity.CRITICAL]
    assert critical == []
    if path.parent.name == "panel":
        assert result.bias.panel.left_out == (path.stem,)  # judged against the others
