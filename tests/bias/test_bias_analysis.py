"""analyse_bias end to end on hand-built models: it flags a planted dark → 'sad' shortcut as
critical and stays quiet about brightness on a model that cannot have one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reportgen.bias import PROBES, Severity, analyse_bias

FINDING_KEYS = {"id", "probe", "class", "text", "severity", "effect", "ci_low", "ci_high"}
BRIGHTNESS_FAMILIES = {"darker", "brighter", "low_contrast", "high_contrast"}


def test_planted_shortcut_is_critical(planted_result) -> None:
    dark = [f for f in planted_result.findings if f.id == "darkening-sad"]
    assert len(dark) == 1
    finding = dark[0]
    assert finding.severity is Severity.CRITICAL
    assert finding.probe.startswith("brightness_x") and finding.class_name == "sad"
    assert finding.ci_low > 5.0 and finding.effect > 20.0
    assert planted_result.headline_findings()[0].severity is Severity.CRITICAL


def test_clean_model_has_no_brightness_finding(clean_result, planted_result) -> None:
    """The clean model is linear with zero-sum weights: scaling or contrast cannot move it
    (up to clipping at 255, which only the extreme brightening reaches)."""
    families = {PROBES[f.probe].family for f in clean_result.findings if f.probe in PROBES
                and not PROBES[f.probe].extreme}
    assert not families & BRIGHTNESS_FAMILIES
    for effect in clean_result.probes:
        if effect.probe.family in {"darker", "low_contrast"}:
            assert effect.flip_rate == 0.0
    clean_sad = next(e for e in clean_result.probes if e.probe.name == "brightness_x0.6")
    planted_sad = next(e for e in planted_result.probes if e.probe.name == "brightness_x0.6")
    assert clean_sad.rate_change[4] < planted_sad.rate_change[4] - 20


def test_every_finding_has_a_ci_above_zero(planted_result, clean_result) -> None:
    for result in (planted_result, clean_result):
        ranks = [f.severity.rank for f in result.findings]
        assert ranks == sorted(ranks, reverse=True)
        for finding in result.findings:
            assert 0 < finding.ci_low <= finding.effect <= finding.ci_high


def test_summary_matches_the_contract(planted_result) -> None:
    summary = planted_result.to_summary()
    json.dumps(summary, allow_nan=False)
    assert summary["findings"] and all(FINDING_KEYS <= set(f) for f in summary["findings"])
    assert {f["severity"] for f in summary["findings"]} <= {"info", "warning", "critical"}
    names = list(planted_result.class_names)
    for probe in summary["probes"]:
        assert list(probe["rates_before"]) == names and list(probe["rates_after"]) == names
        assert sum(probe["rates_after"].values()) == pytest.approx(1.0)
    assert len(summary["probes"]) == len(PROBES)


def test_localisation_shares(planted_result, clean_result) -> None:
    assert clean_result.localisation is None  # no attribute callable given
    loc = planted_result.localisation
    assert loc is not None and len(loc.per_class) == 7
    for group in loc.per_class:
        if group.n_images:
            assert group.shares[0] + group.shares[1] == pytest.approx(1.0, abs=1e-4)
    assert loc.area_shares[0] == pytest.approx(0.48, abs=0.03)
    pairs = planted_result.confusions.pairs
    assert pairs and pairs[0].difference_map is not None
    assert pairs[0].difference_map.shape == (48, 48)


def test_deterministic_under_a_seed(planted_classifier, faces) -> None:
    images, labels = faces[0][:120], faces[1][:120]
    probs = planted_classifier.predict(images)
    names = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    calls = []

    def progress(description: str, total: int):
        calls.append((description, total))
        return lambda n: calls.append(n)

    first = analyse_bias(planted_classifier, images, labels, probs, names, seed=3,
                         probe_names=["brightness_x0.6", "hflip"], progress=progress)
    second = analyse_bias(planted_classifier, images, labels, probs, names, seed=3,
                          probe_names=["brightness_x0.6", "hflip"])
    one, two = first.to_summary(), second.to_summary()
    one.pop("seconds"), two.pop("seconds")
    assert one == two
    assert calls[0] == ("Probes", 120) and sum(c for c in calls if isinstance(c, int)) == 120


def test_probe_batching_does_not_change_results(planted_classifier, faces, monkeypatch) -> None:
    from reportgen.bias import effects
    from reportgen.bias.probes import PROBES

    images = faces[0][:50]
    probes = [PROBES["brightness_x0.6"], PROBES["blur"], PROBES["face_only"]]
    whole = effects.predict_probes(planted_classifier, images, probes)
    monkeypatch.setattr(effects, "MAX_BATCH_IMAGES", 7)
    np.testing.assert_array_equal(effects.predict_probes(planted_classifier, images, probes), whole)
    direct = planted_classifier.predict(PROBES["blur"].transform(images.astype(np.float32)))
    np.testing.assert_array_equal(whole[1], direct.argmax(axis=1))


def test_too_few_images_state_no_finding(planted_classifier, faces) -> None:
    """The same planted shortcut on 12 images: the bootstrap cannot back a finding there."""
    from reportgen.bias.findings import MIN_IMAGES
    from reportgen.gating.policy import Policy
    from reportgen.gating.verdict import evaluate_checks

    images, labels = faces
    dark_sad = [k for k in range(len(labels)) if labels[k] == 4][:12]
    probs = planted_classifier.predict(images[dark_sad])
    result = analyse_bias(planted_classifier, images[dark_sad], labels[dark_sad], probs,
                          ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
                          seed=0, probe_names=["brightness_x0.6"])
    assert len(dark_sad) < MIN_IMAGES and result.findings_withheld and result.findings == []
    assert result.probes[0].flip_rate > 0  # the effect is still measured and shown
    summary = {"bias": result.to_summary()}
    assert summary["bias"]["findings_withheld"] is True
    (check,) = evaluate_checks(Policy({"max_bias_severity": "info"}), summary)
    assert check.skipped and "too few" in check.detail
