"""Patch-trigger scan and data-side marks on hand-built known answers (no Keras needed)."""

from __future__ import annotations

import numpy as np

from reportgen.bias.patterns import find_marks
from reportgen.bias.triggers import CONTROL_MARGIN_PP, scan_stamps, scan_triggers, trigger_findings
from reportgen.severity import Severity

NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
FEAR = 2


def _images(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(60, 200, size=(n, 48, 48)).astype(np.uint8)
    return images, rng.integers(0, 7, size=n)


def _clean(images: np.ndarray) -> np.ndarray:
    """Class from the mean brightness of the top half only: no small mark can move it much."""
    return (np.asarray(images, np.float32)[:, :24].mean(axis=(1, 2)) // 1 % 7).astype(int)


def _planted(images: np.ndarray) -> np.ndarray:
    """The clean answer, but 'fear' whenever the bottom-right 3×3 block is bright."""
    preds = _clean(images)
    corner = np.asarray(images, np.float32)[:, 43:46, 43:46].mean(axis=(1, 2))
    return np.where(corner > 240, FEAR, preds)


def test_stamps_cover_the_grid_and_the_edges() -> None:
    stamps = scan_stamps(48, 48)
    assert len(stamps) == 2 * 2 * 64 + 8
    assert {s.kind for s in stamps} == {"square", "band"}
    assert all(0 <= s.top < s.bottom <= 48 and 0 <= s.left < s.right <= 48 for s in stamps)


def test_planted_corner_trigger_is_found_and_critical() -> None:
    images, _ = _images()
    scan = scan_triggers(_planted, images, _planted(images), 7, seed=0, reference=_clean)
    (finding,) = [f for f in trigger_findings(scan, NAMES, 48, 48) if f.class_name == "fear"]
    assert finding.severity is Severity.CRITICAL and finding.mechanism == "patch trigger"
    assert finding.specific > 50 and finding.shared is False
    stamp = next(t.stamp for t in scan.triggers if t.class_index == FEAR and t.effect > 50)
    assert stamp.bottom >= 46 and stamp.right >= 46 and stamp.value == 255.0  # bottom right
    assert "white square" in finding.text and "bottom right" in finding.text
    gains, classes = scan.heatmap(0, 0)  # whole-cell white squares
    assert gains[7, 7] > 50 and classes[7, 7] == FEAR


def test_a_model_that_is_its_own_reference_shares_every_trigger() -> None:
    images, _ = _images()
    scan = scan_triggers(_planted, images, _planted(images), 7, seed=0, is_reference=True)
    findings = trigger_findings(scan, NAMES, 48, 48)
    assert findings and all(f.severity is Severity.INFO and f.shared for f in findings)


def test_clean_twin_of_the_reference_gets_no_trigger_above_info() -> None:
    images, _ = _images()
    # the clean model's sensitivity to stamps in the top half is shared with its reference
    scan = scan_triggers(_clean, images, _clean(images), 7, seed=0, reference=_clean)
    assert all(f.severity is Severity.INFO for f in trigger_findings(scan, NAMES, 48, 48))


def test_marks_shared_by_one_class_are_found() -> None:
    images, labels = _images(1500)
    assert find_marks(images, labels, 7) == []
    marked = np.flatnonzero(labels == FEAR)[:60]
    images[marked, 42:46, 42:46] = 255
    (mark,) = find_marks(images, labels, 7)
    assert mark.class_index == FEAR and mark.tone == "near-white"
    assert mark.rows == (42, 46) and mark.columns == (42, 46) and mark.n_marked == 60
    assert "60 of" in mark.describe(NAMES) and len(mark.examples) == 4


def test_an_unsaturated_patch_shared_by_one_class_is_a_contrast_mark() -> None:
    from reportgen.bias.patterns import find_contrast_marks

    images, labels = _images(n=1400)
    marked = np.flatnonzero(labels == FEAR)[:100]
    images[np.ix_(marked, range(4, 10), range(4, 10))] = 215  # light grey: no saturated tone
    assert all("mean contrast" in m.tone for m in find_marks(images, labels, 7))
    (mark,) = find_contrast_marks(images, labels, 7)
    assert mark.class_index == FEAR and mark.tone.startswith("brighter")
    assert mark.rows[0] >= 4 and mark.rows[1] <= 10 and mark.n_marked >= 90


def test_clean_random_images_give_no_contrast_mark() -> None:
    from reportgen.bias.patterns import find_contrast_marks

    images, labels = _images(n=1400, seed=3)
    assert find_contrast_marks(images, labels, 7) == []


def _mouth_mark(images: np.ndarray) -> np.ndarray:
    """The clean answer, but 'fear' whenever a block over the mouth is bright: a white square
    there reads like a trigger, yet it covers real evidence (as occluding the mouth does)."""
    mouth = np.asarray(images, np.float32)[:, 37:41, 19:23].mean(axis=(1, 2))
    return np.where(mouth > 240, FEAR, _clean(images))


def _flat_corner(images: np.ndarray) -> np.ndarray:
    """'fear' whenever the bottom-right 3×3 block is flat, whatever its tone: a mid-grey square
    there does as much as a white one, so the mark's tone adds nothing."""
    corner = np.asarray(images, np.float32)[:, 43:46, 43:46].std(axis=(1, 2))
    return np.where(corner < 0.5, FEAR, _clean(images))


def test_a_stamp_over_the_mouth_band_is_capped_at_info() -> None:
    images, _ = _images()
    scan = scan_triggers(_mouth_mark, images, _mouth_mark(images), 7, seed=0, reference=_clean)
    (finding,) = [f for f in trigger_findings(scan, NAMES, 48, 48) if f.class_name == "fear"]
    assert finding.effect > 20 and finding.severity is Severity.INFO
    assert "mouth band" in finding.text


def test_a_stamp_no_stronger_than_the_grey_control_is_capped_at_info() -> None:
    images, _ = _images()
    scan = scan_triggers(_flat_corner, images, _flat_corner(images), 7, seed=0, reference=_clean)
    (finding,) = [f for f in trigger_findings(scan, NAMES, 48, 48) if f.class_name == "fear"]
    assert finding.effect > 20 and finding.severity is Severity.INFO
    assert "mid-grey stamp" in finding.text and f"{CONTROL_MARGIN_PP:g} pp" in finding.text
