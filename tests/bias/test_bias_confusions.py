"""Confusion pairs and the sink class on hand-made predictions."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.bias.confusions import analyse_confusions, find_sink
from reportgen.bias.findings import sink_finding

NAMES = ["a", "b", "c"]


def _case() -> tuple[np.ndarray, np.ndarray]:
    labels = np.array([0] * 10 + [1] * 10 + [2] * 10)
    preds = labels.copy()
    preds[:4] = 2  # a → c: 4
    preds[10:13] = 2  # b → c: 3
    preds[20:22] = 0  # c → a: 2
    return labels, preds


def test_pairs_sink_and_difference_maps() -> None:
    labels, preds = _case()
    probs = np.eye(3)[preds] * 0.8 + 0.2 / 3
    images = np.zeros((30, 6, 6), np.uint8)
    maps = np.full((30, 6, 6), 1 / 36, np.float32)
    maps[:4] = 0.0
    maps[:4, 0, 0] = 1.0  # a → c errors put all evidence in one corner
    after = np.stack([preds, np.where(labels == 0, 2, preds)])  # probe 2 sends every a to c
    result = analyse_confusions(images, labels, probs, after, maps, seed=0)
    assert [(p.true_class, p.pred_class, p.count) for p in result.pairs] == [
        (0, 2, 4), (1, 2, 3), (2, 0, 2)]
    first = result.pairs[0]
    assert first.share_of_true == pytest.approx(0.4)
    assert first.difference_map[0, 0] == pytest.approx(1 - 1 / 36)
    assert first.probe_changes.tolist() == pytest.approx([0.0, 60.0])
    assert first.probe_changes_ci[1, 0] > 0
    assert len(first.examples) == 4
    sink = result.sink
    assert sink.index == 2 and sink.incoming == 7 and sink.feeders.tolist() == [4, 3, 0]
    assert sink.overcall == pytest.approx(100 * (15 - 10) / 30)


def test_no_errors_no_sink() -> None:
    labels = np.arange(3).repeat(5)
    assert find_sink(labels, labels, 3, seed=0) is None
    assert sink_finding(None, NAMES) is None


def test_sink_finding_text() -> None:
    labels = np.zeros(400, int)
    labels[200:] = 1
    preds = labels.copy()
    preds[:80] = 2  # class c over-called by 20 pp
    finding = sink_finding(find_sink(labels, preds, 3, seed=0), NAMES)
    assert finding is not None and finding.class_name == "c"
    assert finding.severity.value == "warning"  # observational: capped
    assert "'c' is the sink class" in finding.text and "+20.0 pp" in finding.text
