"""Fake summary.json dicts and policy files for the policy, checks, JUnit and comparison tests."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
# Images per class and recall per class; the confusion matrix is built to match them.
SUPPORTS = [100, 10, 100, 100, 100, 100, 100]
RECALLS = [0.50, 0.10, 0.40, 0.80, 0.50, 0.70, 0.60]


def confusion_for(recalls: list[float], supports: list[int]) -> np.ndarray:
    """(7, 7) counts: the diagonal gives each recall; the misses all go to 'neutral' (or 'sad')."""
    matrix = np.zeros((len(recalls), len(recalls)), dtype=np.int64)
    for row, (recall, support) in enumerate(zip(recalls, supports, strict=True)):
        hits = round(recall * support)
        matrix[row, row] = hits
        matrix[row, 6 if row != 6 else 4] += support - hits
    return matrix


def build_summary(
    *,
    accuracy: float = 0.60,
    accuracy_ci: tuple[float, float] | None = (0.57, 0.63),
    balanced_accuracy: float = 0.51,
    macro_f1: float = 0.50,
    ece: float = 0.05,
    ece_ci: tuple[float, float] | None = (0.03, 0.07),
    top2_accuracy: float = 0.78,
    recalls: Mapping[str, float] | None = None,
    recall_half_width: float = 0.05,
    supports: list[int] | None = None,
    findings: list[dict[str, Any]] | None = None,
    probes: list[dict[str, Any]] | None = None,
    bias: bool = True,
    sha256: str = "a" * 64,
    class_names: list[str] | None = None,
) -> dict[str, Any]:
    """A summary.json dict that follows docs/CONTRACT.md plus the CI keys the checks rely on."""
    names = list(class_names or CLASSES)
    recall_map = dict(zip(CLASSES, RECALLS, strict=True)) | dict(recalls or {})
    recall_values = [recall_map[c] for c in CLASSES]
    support_list = list(supports or SUPPORTS)
    half = recall_half_width
    per_class = {
        name: {
            "precision": 0.5,
            "recall": recall,
            "f1": 0.5,
            "support": support,
            "recall_ci": [max(0.0, recall - half), min(1.0, recall + half)],
        }
        for name, recall, support in zip(names, recall_values, support_list, strict=True)
    }
    metrics: dict[str, Any] = {
        "accuracy": accuracy,
        "balanced_accuracy": balanced_accuracy,
        "balanced_accuracy_ci": [balanced_accuracy - 0.03, balanced_accuracy + 0.03],
        "macro_f1": macro_f1,
        "macro_f1_ci": [macro_f1 - 0.03, macro_f1 + 0.03],
        "ece": ece,
        "top2_accuracy": top2_accuracy,
        "per_class": per_class,
        "confusion_matrix": confusion_for(recall_values, support_list).tolist(),
    }
    if accuracy_ci is not None:
        metrics["accuracy_ci"] = list(accuracy_ci)
    if ece_ci is not None:
        metrics["ece_ci"] = list(ece_ci)
    summary: dict[str, Any] = {
        "schema_version": 1,
        "model": {"path": "models/candidate.keras", "sha256": sha256, "input_shape": [48, 48, 1],
                  "n_params": 1000, "input_scale": "0-255"},
        "data": {"path": "data/fer2013.csv", "split": "PrivateTest", "n_images": sum(support_list),
                 "class_names": names, "class_counts": dict(zip(names, support_list, strict=True))},
        "metrics": metrics,
        "cases": [],
        "checks": [],
        "timings": {},
    }
    if bias:
        summary["bias"] = {"findings": list(findings or []), "probes": list(probes or [])}
    return copy.deepcopy(summary)


def finding(
    probe: str = "mouth_occlusion",
    class_name: str = "happy",
    effect: float = -12.0,
    ci: tuple[float, float] = (-15.0, -9.0),
    severity: str = "warning",
) -> dict[str, Any]:
    """One bias.findings entry (effect and CI in pp)."""
    return {
        "id": f"{probe}:{class_name}",
        "probe": probe,
        "class": class_name,
        "text": f"{probe} pushes predictions away from {class_name}",
        "severity": severity,
        "effect": effect,
        "ci_low": ci[0],
        "ci_high": ci[1],
    }


def probe(name: str, before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, Any]:
    """One bias.probes entry; rates are fractions 0–1."""
    return {"name": name, "rates_before": dict(before), "rates_after": dict(after)}


@pytest.fixture
def make_summary() -> Callable[..., dict[str, Any]]:
    """The summary builder (a fixture, since test modules should not import conftest)."""
    return build_summary


@pytest.fixture
def make_finding() -> Callable[..., dict[str, Any]]:
    return finding


@pytest.fixture
def make_probe() -> Callable[..., dict[str, Any]]:
    return probe


@pytest.fixture
def write_policy(tmp_path: Path) -> Callable[[str], Path]:
    """Write TOML text to a policy file under tmp_path and return its path."""

    def write(text: str, name: str = "policy.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
