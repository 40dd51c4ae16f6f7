"""Before/after pictures of the headline findings: real test faces, unedited and edited.

The report's first page shows, for each headline finding, a face before and after the edit
that the finding is about (a probe, a stamped patch, a searched trigger or perturbation), with
the model's class under each. The renderer never calls the model, so the pictures and the
classes are made here, in the bias stage, and kept in ``BiasResult.examples``.

An observational finding (the sink class) has no edit: its pictures are faces of another
class that the model calls the sink class (``edited`` False, ``class_before`` the label).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.bias.findings import Finding
from reportgen.bias.probes import PROBES, apply_probe
from reportgen.bias.search import TriggerSearch, UniversalSearch
from reportgen.bias.search.cleanse import stamp
from reportgen.bias.search.universal import perturb
from reportgen.bias.triggers import TriggerScan
from reportgen.severity import Severity

Edit = Callable[[np.ndarray], np.ndarray]  # (M, h, w) float32 0–255 → the same, edited
Predict = Callable[[np.ndarray], np.ndarray]  # (M, h, w) float32 0–255 → (M,) class ids
HEADLINE_LIMIT = 3  # the most findings the brief puts first
N_PAIRS = 2  # pictures per headline finding
N_TRIED = 64  # faces of other classes edited to find those that the edit moves


@dataclass(frozen=True)
class BeforeAfter:
    """One face: ``before`` and ``after`` (h, w) uint8, the model's class on each
    (``class_before`` is the true label when ``edited`` is False), its index in the split."""

    before: np.ndarray
    after: np.ndarray
    class_before: int
    class_after: int
    index: int
    edited: bool = True


def headline(findings: Sequence[Finding], limit: int = HEADLINE_LIMIT) -> list[Finding]:
    """At most ``limit`` findings for the brief: warning or above and not typical of clean
    FER2013 models, the model-specific ones first (``findings`` are sorted most severe first)."""
    chosen = [f for f in findings if f.severity.rank >= Severity.WARNING.rank and f.shared is not True]
    chosen.sort(key=lambda f: (-f.severity.rank, f.shared is not False))
    return chosen[:limit]


def finding_edit(finding: Finding, scan: TriggerScan | None, trigger_search: TriggerSearch | None,
                 universal_search: UniversalSearch | None) -> Edit | None:
    """The edit a finding is about, or None (observational findings, slices, saliency)."""
    if finding.probe in PROBES:
        probe = PROBES[finding.probe]
        return lambda images: apply_probe(probe, images)
    if finding.probe.startswith("patch:") and scan is not None:
        for trigger in scan.triggers:
            s = trigger.stamp
            if (trigger.class_index == finding.class_index
                    and finding.probe == f"patch:{s.kind}:{s.top},{s.left}:{s.value:g}"):
                return s.apply
    k = finding.class_index
    if finding.probe == "search:trigger" and trigger_search is not None:
        t = next(c for c in trigger_search.classes if c.class_index == k)
        return lambda images: stamp(images, t.mask, t.pattern)
    if finding.probe == "search:universal" and universal_search is not None:
        u = next(c for c in universal_search.classes if c.class_index == k)
        return lambda images: perturb(images, u.delta)
    return None


def edited_pairs(edit: Edit, predict: Predict, images: np.ndarray, preds: np.ndarray, k: int,
                 seed: int) -> tuple[BeforeAfter, ...]:
    """Up to ``N_PAIRS`` faces the model puts outside class k that the edit sends to k (else
    the first one tried, whatever the edit made of it). images (N, h, w) 0–255, preds (N,)."""
    outside = np.flatnonzero(preds != k)
    if not len(outside):
        return ()
    tried = np.sort(np.random.default_rng(seed).permutation(outside)[:N_TRIED])
    originals = np.asarray(images[tried], np.float32)
    edited = np.asarray(edit(originals), np.float32)
    after = np.asarray(predict(edited)).astype(int)
    moved = np.flatnonzero(after == k)
    chosen = moved[:N_PAIRS] if len(moved) else np.arange(1)
    return tuple(BeforeAfter(_grey(originals[i]), _grey(edited[i]), int(preds[tried[i]]),
                             int(after[i]), int(tried[i])) for i in chosen)


def label_pairs(labels: np.ndarray, preds: np.ndarray, images: np.ndarray, k: int,
                seed: int) -> tuple[BeforeAfter, ...]:
    """Up to ``N_PAIRS`` faces of other classes that the model calls k (no edit)."""
    wrong = np.flatnonzero((preds == k) & (labels != k))
    chosen = np.sort(np.random.default_rng(seed).permutation(wrong)[:N_PAIRS])
    return tuple(BeforeAfter(_grey(images[i]), _grey(images[i]), int(labels[i]), k, int(i),
                             edited=False) for i in chosen)


def finding_examples(findings: Sequence[Finding], predict: Predict, images: np.ndarray,
                     labels: np.ndarray, preds: np.ndarray, seed: int,
                     edits: Callable[[Finding], Edit | None]) -> dict[str, tuple[BeforeAfter, ...]]:
    """Finding id → its pictures, for the headline findings (``headline``)."""
    examples = {}
    for finding in headline(findings):
        edit = edits(finding)
        if edit is not None:
            pairs = edited_pairs(edit, predict, images, preds, finding.class_index, seed)
        elif finding.probe == "confusion":
            pairs = label_pairs(labels, preds, images, finding.class_index, seed)
        else:
            pairs = ()
        if pairs:
            examples[finding.id] = pairs
    return examples


def _grey(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(image, np.float32)), 0, 255).astype(np.uint8)
