"""Sequential probing: anytime-valid bounds, when a probe is settled, and that the default
(sequential) mode states the findings the exhaustive mode states."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reportgen.bias import sequential, shortcuts
from reportgen.bias.analysis import analyse_bias
from reportgen.bias.effects import measure_effects
from reportgen.bias.panel import PanelRun
from reportgen.bias.probes import PROBES
from reportgen.bias.reference import ReferenceRun
from reportgen.bias.sequential import (
    LOOKS,
    change_bounds,
    confidence_bounds,
    probe_sequentially,
    specific_threshold,
    status,
)
from reportgen.bias.shortcuts import highest_severity
from reportgen.loading.dataset import FER2013_CLASSES as CLASS_NAMES
from reportgen.severity import Severity


def test_bounds_hold_at_every_look_at_once() -> None:
    """Over 300 seeded Bernoulli sequences, the true mean leaves the bounds at some look (of
    six) in at most alpha of them: looking early does not inflate errors."""
    rng = np.random.default_rng(0)
    misses, alpha = 0, 0.1
    for _ in range(300):
        p = rng.uniform(0.01, 0.3)
        values = (rng.random((4096, 1)) < p).astype(float)
        for look in (64, 256, 512, 1024, 2048, 4096):
            low, high = confidence_bounds(values[:look], alpha)
            if not low[0] <= p <= high[0]:
                misses += 1
                break
    assert misses / 300 <= alpha


def test_bounds_narrow_with_more_images_and_low_variance() -> None:
    rng = np.random.default_rng(1)
    values = (rng.random((4096, 2)) < [0.02, 0.5]).astype(float)
    widths = [np.subtract(*confidence_bounds(values[:n], 0.01)[::-1]) for n in (256, 4096)]
    assert (widths[1] < widths[0]).all()
    assert widths[1][0] < widths[1][1]  # a rare event is pinned down faster than a coin


def test_change_bounds_are_in_percentage_points() -> None:
    before = np.zeros(2000, int)
    after = np.where(np.arange(2000) % 4 == 0, 1, 0)  # a quarter move from class 0 to 1
    low, high = change_bounds(before, after, 3, 0.01)
    assert low[1] < 25 < high[1] and low[0] < -25 < high[0]
    assert high[1] - low[1] < 15


def test_a_probe_below_every_panel_threshold_is_settled_and_one_above_is_not() -> None:
    rng = np.random.default_rng(2)
    before = rng.integers(0, 7, 1024)
    after = np.where(rng.random(1024) < 0.05, 4, before)  # about +4 pp toward class 4
    assert status(before, after, 7, np.full(7, 30.0)).done
    assert not status(before, after, 7, np.full(7, 3.0)).done
    assert not status(before, after, 7, None).done  # no panel: only "moved nothing" settles
    strong = np.where(rng.random(1024) < 0.2, 4, before)  # about +17 pp
    assert status(before, strong, 7, None).moved and not status(before, before, 7, None).moved


def test_a_probe_capped_at_info_is_settled_once_its_effect_is_sure() -> None:
    """An evidence probe or an extreme corruption states ``info`` whatever its size: a large
    effect above the panel's edge settles it, while the same effect leaves a probe that could
    be graded higher unsettled."""
    rng = np.random.default_rng(4)
    before = rng.integers(0, 7, 512)
    after = np.where(rng.random(512) < 0.3, 6, before)  # about +26 pp toward class 6
    assert not status(before, after, 7, np.full(7, 10.0)).done
    assert status(before, after, 7, np.full(7, 10.0), info_only=True).done
    small = np.where(rng.random(512) < 0.01, 6, before)  # about +1 pp: neither surely
    assert not status(before, small, 7, np.full(7, 0.5), info_only=True).done


def test_highest_severity_is_what_the_largest_effect_is_graded() -> None:
    """Every probe sending every image to one class (+100 pp, no reference) is graded exactly
    its ``highest_severity``: the settling rule and the grading caps agree."""
    probes = list(PROBES.values())
    preds = np.zeros(200, int)
    effects = measure_effects(probes, preds, np.full((len(probes), 200), 6), preds, 7, 0)
    for probe, effect in zip(probes, effects):
        assert shortcuts._severity(effect, 6) is highest_severity(probe), probe.name
    assert highest_severity(PROBES["occlude_eyes"]) is Severity.INFO  # evidence
    assert highest_severity(PROBES["pixelate_s4"]) is Severity.INFO  # extreme corruption
    assert highest_severity(PROBES["brightness_x0.6"]) is Severity.CRITICAL


def test_specific_threshold_is_the_panel_edge() -> None:
    panel = np.zeros((4, 1, 2))
    panel[:, 0, 0] = [0.0, 2.0, 4.0, 10.0]  # max 10, median 3, margin 7, robust sd 2.97
    threshold = specific_threshold(panel)
    assert threshold[0, 0] == pytest.approx(max(10 + 7, 3 + 3 * 1.4826 * 2.0))
    assert threshold[0, 1] == pytest.approx(6.0)  # all zero: the floors, 3 SDs of 2 pp


def _dose_table(probes, n: int) -> tuple[np.ndarray, np.ndarray]:
    """preds (n,) and a table (P, n) of answers: every probe changes nothing, except the last
    (the mirror), which moves 20% of images to class 3."""
    preds = np.random.default_rng(3).integers(0, 7, n)
    table = np.tile(preds, (len(probes), 1))
    table[-1, : n // 5] = 3
    return preds, table


def test_weaker_doses_are_skipped_when_the_strongest_moves_nothing(monkeypatch) -> None:
    probes = [PROBES[name] for name in ("brightness_x0.8", "brightness_x0.6", "brightness_x0.4",
                                        "brightness_x0.2", "hflip")]
    n = 3000
    preds, table = _dose_table(probes, n)
    evaluated = []

    def fake(_classifier, index, chosen, progress=None):
        evaluated.append(len(index) * len(chosen))
        rows = [probes.index(p) for p in chosen]
        return table[rows][:, index]

    # The stand-in model reads a fixed table: images are passed as their indices.
    monkeypatch.setattr(sequential, "predict_probes", fake)
    # Without a panel only "moved nothing" settles a probe: the strongest runs until it surely
    # moved nothing, and the weaker doses are never run.
    run = probe_sequentially(None, np.arange(n), preds, probes, 7, 0, None)
    assert set(run.skipped) == {"brightness_x0.8", "brightness_x0.6", "brightness_x0.4"}
    assert run.n_images[:3].tolist() == [0, 0, 0] and 0 < run.n_images[3] <= n
    assert run.n_images[4] == n  # the mirror moved something: never settled without a panel
    assert sum(evaluated) == run.evaluations < n * len(probes)
    seen = run.order[: run.n_images[4]]
    assert (run.preds_after[4, seen] == table[4, seen]).all()
    assert (run.preds_after[:3] == -1).all()
    # With a panel whose edge is far away everything settles at the first look, and the weaker
    # doses then run too (a milder edit can move another class more), settling at once.
    run = probe_sequentially(None, np.arange(n), preds, probes, 7, 0, np.full((5, 7), 50.0))
    assert run.skipped == () and run.n_images.tolist() == [LOOKS[0]] * 5


def _panel(n_probes: int, n_images: int, changes: float = 0.0) -> PanelRun:
    before = np.zeros(n_images, int)
    run = ReferenceRun(Path("m"), "x", False, True, 0.0, before,
                       np.zeros((n_probes, n_images), int))
    return PanelRun((run, run, run), ("a", "b", "c"), ("r", "r", "r"), (), None, n_images)


def test_sequential_and_exhaustive_state_the_same_findings(planted_classifier, faces) -> None:
    """On the planted dark → 'sad' model, both modes state the same (class, mechanism,
    severity) findings and the findings' probes are exact (measured on every image)."""
    images, labels = faces
    images = np.concatenate([images] * 3)  # 1,500 images: several looks
    labels = np.concatenate([labels] * 3)
    probs = planted_classifier.predict(images.astype(np.float32))
    names = ["brightness_x0.6", "brightness_x0.4", "brightness_x0.2", "hflip", "blur"]
    panel = _panel(len(names), len(images))
    results = [analyse_bias(planted_classifier, images, labels, probs, CLASS_NAMES,
                            probe_names=names, panel=panel, searches=False, skip=("patch-scan",),
                            sequential=mode) for mode in (False, True)]
    keys = [{(f.class_name, f.mechanism, f.severity) for f in r.findings if f.mechanism}
            for r in results]
    assert keys[0] == keys[1] and any(k[2].value == "critical" for k in keys[0])
    exact = {e.probe.name for e in results[1].probes if e.n_images == len(images)}
    assert {f.probe for f in results[1].findings if f.probe in names} <= exact
    run = results[1].sequential
    assert run is not None and run.evaluations <= len(names) * len(images)
    summary = results[1].to_summary()
    assert summary["probing"]["mode"] == "sequential"
    assert all(p["n_images"] > 0 for p in summary["probes"])
    assert results[0].to_summary()["probing"]["mode"] == "exhaustive"
