"""The brief's before/after pictures and its choice of headline findings, on known answers."""

from __future__ import annotations

import numpy as np

from reportgen.bias.examples import N_PAIRS, edited_pairs, headline, label_pairs
from reportgen.bias.findings import Finding
from reportgen.severity import Severity

FEAR = 2


def _finding(id: str, severity: Severity, shared: bool | None) -> Finding:
    specific_ci = None if shared is None else ((-1.0, 1.0) if shared else (5.0, 9.0))
    return Finding(id, "p", FEAR, "fear", id, severity, 10.0, 5.0, 15.0, specific=0.0,
                   specific_ci=specific_ci, typical=shared)


def test_headline_is_at_most_three_findings_never_typical_model_specific_first() -> None:
    findings = [_finding("typical", Severity.CRITICAL, True),
                _finding("unjudged", Severity.CRITICAL, None),
                _finding("specific", Severity.CRITICAL, False),
                _finding("w1", Severity.WARNING, False), _finding("w2", Severity.WARNING, False),
                _finding("info", Severity.INFO, False)]
    assert [f.id for f in headline(findings)] == ["specific", "unjudged", "w1"]


def test_pairs_show_faces_the_edit_sends_to_the_class() -> None:
    images = np.full((40, 48, 48), 100, np.uint8)
    preds = np.zeros(40, int)

    def predict(batch: np.ndarray) -> np.ndarray:  # 'fear' when the corner is white
        return np.where(batch[:, 44:, 44:].mean(axis=(1, 2)) > 240, FEAR, 0)

    def stamp(batch: np.ndarray) -> np.ndarray:
        out = np.array(batch, np.float32)
        out[:, 44:, 44:] = 255
        return out

    pairs = edited_pairs(stamp, predict, images, preds, FEAR, seed=0)
    assert len(pairs) == N_PAIRS
    for pair in pairs:
        assert (pair.class_before, pair.class_after) == (0, FEAR) and pair.edited
        assert pair.after[45, 45] == 255 and pair.before[45, 45] == 100
        assert pair.before.dtype == np.uint8 and pair.before.shape == (48, 48)


def test_observational_pairs_are_faces_of_other_classes_called_the_class() -> None:
    images = np.arange(10, dtype=np.uint8)[:, None, None] * np.ones((1, 48, 48), np.uint8)
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 0, 1, 2])
    preds = np.array([2, 2, 2, 3, 4, 5, 6, 0, 1, 2])
    pairs = label_pairs(labels, preds, images, FEAR, seed=0)
    assert {p.index for p in pairs} == {0, 1}
    assert all(not p.edited and p.class_after == FEAR and p.class_before != FEAR for p in pairs)
