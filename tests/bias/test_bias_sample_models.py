"""The planted dark → 'sad' model against the clean one, on the full FER2013 PublicTest split.

Slow (two models × the darkening probes over 3,589 images); skipped when the models or the
data are not there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reportgen.bias import Severity, analyse_bias

REPO = Path(__file__).resolve().parents[2]
CLEAN = REPO / "sample_models" / "fer_cnn.keras"
PLANTED = REPO / "sample_models" / "fer_cnn_dark_sad.keras"
PUBLIC_TEST = REPO.parent / "shared" / "fer2013" / "PublicTest"
# The finding under test comes from the 'darker' family; the other probes cannot change it.
PROBES = ["brightness_x0.6", "brightness_x0.8"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CLEAN.exists() and PLANTED.exists() and PUBLIC_TEST.is_dir()),
                       reason="sample models or FER2013 PublicTest not available"),
]


def _analyse(path: Path):
    from reportgen.loading.data import load_dataset
    from reportgen.loading.model import Classifier, InputScale, load_model

    dataset = load_dataset(PUBLIC_TEST)
    loaded = load_model(path)
    classifier = Classifier(loaded, dataset.images.shape[1:3],
                            InputScale.RAW if loaded.has_rescaling else InputScale.UNIT)
    probs = classifier.predict(dataset.images)
    return analyse_bias(classifier, dataset.images, dataset.labels, probs,
                        list(dataset.class_names), seed=0, probe_names=PROBES)


@pytest.fixture(scope="module")
def results():
    return _analyse(PLANTED), _analyse(CLEAN)


def _dark_sad(result):
    return next((f for f in result.findings if f.id == "darkening-sad"), None)


def test_planted_shortcut_is_critical(results) -> None:
    planted, _ = results
    finding = _dark_sad(planted)
    assert finding is not None and finding.severity is Severity.CRITICAL
    assert finding.probe.startswith("brightness_x")


def test_clean_model_is_at_most_a_warning_with_a_clearly_smaller_effect(results) -> None:
    planted, clean = results
    finding = _dark_sad(clean)
    assert finding is None or finding.severity.rank <= Severity.WARNING.rank
    sad = list(clean.class_names).index("sad")
    clean_effect = next(e for e in clean.probes if e.probe.name == "brightness_x0.6")
    planted_effect = next(e for e in planted.probes if e.probe.name == "brightness_x0.6")
    # clearly smaller: the intervals do not overlap, and it is at most half the planted effect
    assert clean_effect.rate_change_ci[sad, 1] < planted_effect.rate_change_ci[sad, 0]
    assert clean_effect.rate_change[sad] <= 0.5 * planted_effect.rate_change[sad]
