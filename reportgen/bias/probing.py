"""Probe effects from sequential probing: measured on the images that decided each probe, and
exact on the whole split for every probe that decides a finding at warning or above.

``reportgen.bias.sequential`` decides how many images each probe needs; this module turns its
answers into ``ProbeEffect``s (each measured with the paired bootstrap on its own images, so a
probe settled early shows an honest, wider CI), judges them against the clean-model panel, and
completes on the whole split the probes that decide a finding at warning or above
(``_deciding_probes``), repeating until those are all exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from reportgen.bias.effects import ProbeEffect, measure_effects
from reportgen.bias.panel import PanelRun, judge_effects, panel_sample
from reportgen.bias.probes import Probe
from reportgen.bias.sequential import (
    SequentialRun,
    complete,
    probe_sequentially,
    specific_threshold,
    subset_groups,
)
from reportgen.bias.shortcuts import deciding_ci, highest_severity, probe_findings
from reportgen.loading.model import Classifier
from reportgen.progress import Track
from reportgen.severity import Severity

MAX_ROUNDS = 4  # completing a finding's probe can promote another member; this bounds the chase


@dataclass(frozen=True)
class SequentialEffects:
    """The effects of the probes that ran (skipped weaker doses left out) and how they ran."""

    probes: list[Probe]  # the probes measured, in suite order
    effects: list[ProbeEffect]
    preds_after: np.ndarray  # (P', N) int16, -1 where a probe was not evaluated
    panel: PanelRun | None  # the panel restricted to the probes measured
    run: SequentialRun


def measure_sequentially(
    classifier: Classifier, images: np.ndarray, preds: np.ndarray, labels: np.ndarray,
    probes: Sequence[Probe], class_names: Sequence[str], seed: int,
    panel: PanelRun | None = None, progress: Track | None = None,
) -> SequentialEffects:
    """Sequentially probe images (N, h, w) 0–255 and measure each probe's effect.

    preds, labels (N,) class ids. With a panel, its members' changes (computed on its seeded
    sample, which leads the probing order) set how large an effect could be model-specific.
    """
    n_classes = len(class_names)
    thresholds = None if panel is None else specific_threshold(panel.changes(n_classes))
    first = panel_sample(len(images), seed) if panel is not None else None
    run = probe_sequentially(classifier, images, preds, probes, n_classes, seed, thresholds,
                             first, progress)
    kept = np.flatnonzero(run.n_images > 0)
    panel = None if panel is None else _restrict(panel, kept)
    for _ in range(MAX_ROUNDS):
        effects = _effects(run, kept, probes, preds, labels, n_classes, seed, panel)
        needed = _deciding_probes(effects, class_names)
        todo = [int(kept[i]) for i, e in enumerate(effects)
                if e.probe.name in needed and e.n_images < len(images)]
        if not todo:
            break
        run = complete(classifier, images, probes, run, todo)
    return SequentialEffects([probes[p] for p in kept], effects, run.preds_after[kept], panel, run)


def _effects(run: SequentialRun, kept: np.ndarray, probes: Sequence[Probe], preds: np.ndarray,
             labels: np.ndarray, n_classes: int, seed: int,
             panel: PanelRun | None) -> list[ProbeEffect]:
    """Each kept probe's effect on its own images, in suite order, judged against the panel."""
    position = {int(p): i for i, p in enumerate(kept)}
    effects: list[ProbeEffect | None] = [None] * len(kept)
    for rows, index in subset_groups(run):
        measured = measure_effects([probes[p] for p in rows], preds[index],
                                   run.preds_after[np.ix_(rows, index)], labels[index],
                                   n_classes, seed)
        for p, effect in zip(rows, measured):
            effects[position[int(p)]] = effect
    ready = [e for e in effects if e is not None]
    return judge_effects(ready, panel, n_classes) if panel is not None else ready


def _deciding_probes(effects: list[ProbeEffect], class_names: Sequence[str]) -> set[str]:
    """The probes whose numbers decide the probe findings, so must be exact: each finding at
    warning or above, with every member of its mechanism whose CI could still beat its
    deciding bound and whose severity could reach it (it could carry it), and the members that pick a mechanism's top class when
    that is contested. An ``info`` finding (an effect clean models share, or an evidence
    probe's) otherwise keeps the numbers of the images that settled it, with their wider CI."""
    needed = set()
    mechanisms: dict[str, list[ProbeEffect]] = {}
    for effect in effects:
        mechanisms.setdefault(effect.probe.mechanism or effect.probe.family, []).append(effect)
    for members in mechanisms.values():
        needed |= _contested_top(members)
    by_name = {effect.probe.name: effect for effect in effects}
    for finding in probe_findings(effects, class_names):
        if finding.severity is Severity.INFO:
            continue
        needed.add(finding.probe)
        k, best = finding.class_index, by_name[finding.probe]
        bound = deciding_ci(best, k)[0]
        members = mechanisms[best.probe.mechanism or best.probe.family]
        needed |= {e.probe.name for e in members if deciding_ci(e, k)[1] > bound
                   and highest_severity(e.probe).rank >= finding.severity.rank}
    return needed


def _contested_top(members: list[ProbeEffect]) -> set[str]:
    """The members that pick a mechanism's top class (the class its info finding is stated
    for), when the runner-up class's CI reaches the top class's: both must then be exact
    (also when neither is stated on the images so far: the whole split may state one)."""
    changes = np.array([e.rate_change for e in members])  # (M, K)
    holders = changes.argmax(axis=0)  # (K,) the member with each class's largest change
    best = changes.max(axis=0)
    first, second = np.argsort(-best, kind="stable")[:2]
    top, runner = members[holders[first]], members[holders[second]]
    if runner.rate_change_ci[second, 1] < top.rate_change_ci[first, 0]:
        return set()
    return {top.probe.name, runner.probe.name}


def _restrict(panel: PanelRun, kept: np.ndarray) -> PanelRun:
    """The panel's answers to the kept probes only (rows of each member's (P, n) answers)."""
    runs = tuple(replace(run, preds_after=np.asarray(run.preds_after)[kept]) for run in panel.runs)
    return replace(panel, runs=runs)
