"""The clean-model panel: an effect is the model's own only beyond every clean model's spread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reportgen.bias.effects import measure_effects
from reportgen.bias.findings import Severity, slice_findings
from reportgen.bias.panel import PanelRun, judge_effects, read_manifest, robust_z
from reportgen.bias.probes import PROBES
from reportgen.bias.reference import ReferenceRun
from reportgen.bias.shortcuts import probe_findings
from reportgen.bias.slices import SLICE_FEATURES, slice_by
from reportgen.loading.pixels import InputScale

N = 1000
NAMES = list("abcdsfg")


def _moved(fraction: float, shift_to: int = 4) -> np.ndarray:
    after = np.zeros((1, N), int)
    after[:, : int(fraction * N)] = shift_to
    return after


def _panel(*shares: float) -> PanelRun:
    runs = tuple(ReferenceRun(Path(f"m{i}"), f"{i}", False, True, 0.0, np.zeros(N, int),
                              _moved(share)) for i, share in enumerate(shares))
    return PanelRun(runs, tuple(f"m{i}" for i in range(len(shares))),
                    tuple("recipe" for _ in shares))


def _finding(share: float, panel: PanelRun):
    effects = measure_effects([PROBES["brightness_x0.6"]], np.zeros(N, int), _moved(share),
                              np.zeros(N, int), 7, seed=0)
    (finding,) = probe_findings(judge_effects(effects, panel, 7), NAMES)
    return finding


def test_an_effect_inside_the_panel_spread_is_typical() -> None:
    finding = _finding(0.30, _panel(0.05, 0.12, 0.20, 0.35))
    assert finding.severity is Severity.INFO and finding.shared is True
    assert "typical of clean FER2013 models (clean FER2013 models: +5.0 to +35.0 pp; " \
           "this model: +30.0 pp)" in finding.text


def test_beyond_the_maximum_but_near_a_wide_panel_is_typical() -> None:
    # CI clears the panel's maximum (+20) but the panel is wide: z = (27 - 10) / 14.8 < 3
    finding = _finding(0.27, _panel(0.0, 0.05, 0.10, 0.15, 0.20))
    assert finding.shared is True and finding.severity is Severity.INFO


def test_far_beyond_the_panel_is_specific_and_graded_on_the_excess() -> None:
    finding = _finding(0.57, _panel(0.03, 0.08, 0.12, 0.15, 0.21))
    assert finding.shared is False and finding.severity is Severity.CRITICAL
    # graded beyond the panel's maximum (+21) plus its median-to-maximum distance (+9)
    assert finding.specific == pytest.approx(27.0)
    assert "specific to this model (+27.0 pp beyond the clean models' spread" in finding.text
    assert "clean FER2013 models: +3.0 to +21.0 pp; this model: +57.0 pp" in finding.text
    point = finding.support[0]
    assert point["panel_range"] == [3.0, 21.0]


def test_an_effect_just_past_the_most_sensitive_clean_model_is_typical() -> None:
    """Beyond the maximum of four recipes by less than the margin: typical, not the model's own."""
    finding = _finding(0.30, _panel(0.00, 0.08, 0.10, 0.12, 0.20))  # margin 10: edge +30
    assert finding.shared is True and finding.severity is Severity.INFO


def test_robust_z_floors_the_spread() -> None:
    panel = np.array([[10.0], [10.0], [10.0]])  # MAD 0: the floor (2 pp) applies
    assert robust_z(np.array([16.0]), panel)[0] == pytest.approx(3.0)


def test_bundled_manifest_lists_loadable_members() -> None:
    entries = read_manifest()
    assert len(entries) >= 1
    for entry in entries:
        assert entry.path.is_file() and entry.recipe and isinstance(entry.scale, InputScale)


def test_slices_say_under_called_when_a_class_is_under_predicted() -> None:
    """A class the model rarely predicts, predicted somewhat more in one bin, is no over-call
    there: the finding says it is under-called, less than elsewhere."""
    rng = np.random.default_rng(0)
    feature = rng.uniform(0, 255, N)
    labels = rng.integers(0, 7, N)
    preds = np.where(rng.random(N) < 0.8, labels, 3)
    dark = feature < 51
    preds[(labels == 2) & ~dark] = 3  # 'c' (2) never predicted outside the dark bin
    preds[(labels == 2) & dark & (rng.random(N) < 0.5)] = 3  # and half the time inside it
    result = slice_by("brightness", SLICE_FEATURES["brightness"], feature, labels, preds, 7, 0)
    assert result.pred_rates[0, 2] < result.true_rates[0, 2] and result.excess[0, 2] > 0
    texts = [f.text for f in slice_findings([result], NAMES) if f.class_index == 2]
    assert texts and all("under-called, but less than elsewhere, as 'c'" in t for t in texts)
    assert not any("over-called as 'c'" in t for t in texts)


def test_members_see_other_image_sizes_resized() -> None:
    """A 64×64 split: each member (a 48×48 model) classifies the same images resized."""
    from reportgen.bias.panel import member_models

    entries = read_manifest()[:1]
    members, left_out = member_models(entries, "not-a-member", (64, 64), 64, trust=False)
    assert left_out == [] and len(members) == 1
    images = np.random.default_rng(0).uniform(0, 255, (5, 64, 64)).astype(np.float32)
    labels = members[0][1].predict_images(images)
    assert labels.shape == (5,) and ((0 <= labels) & (labels < 7)).all()


def test_a_member_is_left_out_of_its_own_panel() -> None:
    from reportgen.bias.panel import member_models
    from reportgen.loading.model import file_sha256

    entries = read_manifest()
    members, left_out = member_models(entries, file_sha256(entries[0].path), (48, 48), 64, False)
    assert left_out == [entries[0].name] and len(members) == len(entries) - 1


def test_a_corruption_alone_is_at_most_a_warning() -> None:
    """Heavy corruption splits clean models of different recipes: robustness, never critical."""
    effects = measure_effects([PROBES["elastic_transform_s5"]], np.zeros(N, int), _moved(0.60),
                              np.zeros(N, int), 7, seed=0)
    (finding,) = probe_findings(judge_effects(effects, _panel(0.01, 0.02, 0.03, 0.05), 7), NAMES)
    assert finding.shared is False and finding.severity is Severity.WARNING
