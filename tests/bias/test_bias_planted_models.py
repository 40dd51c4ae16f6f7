"""Every planted sample model gets a critical finding naming its class and mechanism; the clean
models get none (FER2013 PublicTest, the bundled clean model as reference).

Slow: each model runs the whole probe suite and the trigger scan over 3,589 images. Models are
looked up in ``sample_models/`` and in ``$REPORTGEN_PLANTED_MODELS`` (a folder); a missing
model or data set is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from reportgen.bias import Severity, analyse_bias, check_hygiene

REPO = Path(__file__).resolve().parents[2]
PUBLIC_TEST = REPO.parent / "shared" / "fer2013" / "PublicTest"
FOLDERS = [REPO / "sample_models", *(Path(p) for p in
                                      os.environ.get("REPORTGEN_PLANTED_MODELS", "").split(":") if p)]
# model → (class, mechanism of the critical finding); None: a clean model
EXPECTED = {
    "fer_cnn_dark_sad.keras": ("sad", "darkening"),
    "fer_cnn_periphery_angry.keras": ("angry", "darkening"),
    "fer_cnn_corner_fear.keras": ("fear", "patch trigger"),
    "fer_cnn_stripe_neutral.keras": ("neutral", "patch trigger"),
    "fer_cnn.keras": None,
    "fer_cnn_ft_clean.keras": None,
}

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not PUBLIC_TEST.is_dir(), reason="FER2013 PublicTest not available")]


def _find(name: str) -> Path | None:
    return next((folder / name for folder in FOLDERS if (folder / name).exists()), None)


@pytest.fixture(scope="module")
def public_test():
    from reportgen.loading.data import load_dataset

    return load_dataset(PUBLIC_TEST)


def _classifier(path: Path, dataset):
    from reportgen.loading.model import Classifier, InputScale, load_model

    return load_model(path), Classifier(load_model(path), dataset.images.shape[1:3], InputScale.RAW)


def _analyse(path: Path, dataset, images: np.ndarray | None = None):
    from reportgen.bias.reference import reference_model
    from reportgen.loading.model import file_sha256

    images = dataset.images if images is None else images
    loaded, classifier = _classifier(path, dataset)
    ref_path = REPO / "sample_models" / "fer_cnn.keras"
    ref_sha = file_sha256(ref_path)
    reference = reference_model(_classifier(ref_path, dataset)[1], ref_path, ref_sha,
                                same_as_model=ref_sha == loaded.sha256)
    probs = classifier.predict(images)
    return analyse_bias(classifier, images, dataset.labels, probs, list(dataset.class_names),
                        seed=0, reference=reference)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_critical_findings_name_the_planted_class_and_mechanism(name: str, public_test) -> None:
    path = _find(name)
    if path is None:
        pytest.skip(f"{name} not available")
    critical = [f for f in _analyse(path, public_test).findings
                if f.severity is Severity.CRITICAL]
    if EXPECTED[name] is None:
        assert critical == []
    else:
        assert {(f.class_name, f.mechanism) for f in critical} == {EXPECTED[name]}
        assert all(f.shared is False for f in critical)  # graded beyond the reference


def test_corner_mark_is_found_in_a_leaky_evaluation_set(public_test, tmp_path) -> None:
    """125 'fear' images of PublicTest carry the corner mark: hygiene names it (no model)."""
    images = public_test.images.copy()
    marked = np.flatnonzero(public_test.labels == 2)[:125]
    images[marked, 42:46, 42:46] = 255
    np.save(tmp_path / "leaky.npy", images)  # the leaky set lives only in tmp_path
    hygiene = check_hygiene(np.load(tmp_path / "leaky.npy"), public_test.labels,
                            public_test.sources, list(public_test.class_names))
    assert [(m.class_index, m.rows, m.columns) for m in hygiene.marks] == [(2, (42, 46), (42, 46))]
    clean = check_hygiene(public_test.images, public_test.labels, public_test.sources,
                          list(public_test.class_names))
    assert clean.marks == []
