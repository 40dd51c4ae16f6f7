"""A panel of clean FER2013 models: the yardstick for "specific to this model".

One clean reference model cannot tell a model's own shortcut from what clean models of *other*
recipes also do: blur pushes some clean FER2013 models toward 'sad' by +40 pp and others by +5.
The panel holds several small clean models that differ in architecture, input scaling,
augmentation and seed (``sample_models/panel/panel.json`` lists them and their recipes;
``sample_models/build_panel.sh`` rebuilds them). Each probe runs through every member, and an
effect counts as *model-specific* only when

- its 95% CI lies entirely above the most sensitive member's effect plus a margin (the distance
  from the panel's median to its maximum, at least 5 pp: ``reportgen.bias.spread.margin``), and
- it sits at least ``Z_MIN`` robust standard deviations above the panel's median (the MAD,
  scaled by 1.4826, floored at ``MAD_FLOOR_PP`` so a panel that happens to agree closely does
  not make every small excess look extreme).

Severity is then graded on the part beyond the panel's maximum plus that margin; everything else is "typical of
clean FER2013 models". The panel's answers are cached by data hash like the single reference's
(``reportgen.bias.reference``), and a model that *is* a member is judged against the others
(leave one out). Members are 48×48 models: other image sizes reach them resized, edits applied
first (``Classifier`` resizes bilinearly).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from reportgen.bias.effects import ProbeEffect
from reportgen.bias.reference import ReferenceModel, ReferenceRun
from reportgen.bias.spread import MAD_FLOOR_PP, Z_MIN, margin, robust_z

__all__ = ["MAD_FLOOR_PP", "Z_MIN", "PanelRun", "judge_effects", "robust_z"]
from reportgen.loading.pixels import InputScale

MANIFEST = "panel.json"
# The panel's changes are only a spread to compare with, not a finding with a CI: a seeded
# sample of this many images gives each member's rate change to about ±1.5 pp (one SE) at a
# fraction of the cost (5 models × every probe × the whole split cost minutes on 2 cores).
PANEL_IMAGES = 1024


@dataclass(frozen=True)
class PanelEntry:
    """One clean model as listed in the manifest: its file, recipe and input scale."""

    name: str
    path: Path
    recipe: str
    scale: InputScale
    accuracy: float | None = None  # PublicTest accuracy at training time


def panel_dir() -> Path:
    """The bundled panel's folder (inside the wheel, or the checkout's ``sample_models``)."""
    from reportgen.resources import data_dir

    return data_dir("sample_models") / "panel"


def read_manifest(directory: Path | None = None) -> list[PanelEntry]:
    """The panel's members as listed in ``panel.json`` (empty when the panel is absent)."""
    directory = directory or panel_dir()
    try:
        listed = json.loads((directory / MANIFEST).read_text())["members"]
    except (OSError, ValueError, KeyError):
        return []
    return [PanelEntry(m["name"], (directory / m["file"]).resolve(), m["recipe"],
                       InputScale(m["input_scale"]), m.get("accuracy")) for m in listed]


@dataclass(frozen=True)
class PanelRun:
    """Every member's answers to the probes on the audited split."""

    runs: tuple[ReferenceRun, ...]
    names: tuple[str, ...]
    recipes: tuple[str, ...]
    left_out: tuple[str, ...] = ()  # members equal to the audited model (leave one out)
    resized_from: tuple[int, int] | None = None  # the split's image size when not 48×48
    n_images: int = 0  # images the members saw (a seeded sample of the split)

    def changes(self, n_classes: int) -> np.ndarray:
        """(R, P, K) each member's rate change (pp) per probe and class."""
        return np.stack([_run_changes(run, n_classes) for run in self.runs])

    def to_summary(self) -> dict:
        return {"members": [{"name": n, "recipe": r, **run.to_summary()}
                            for n, r, run in zip(self.names, self.recipes, self.runs)],
                "left_out": list(self.left_out), "n_images": self.n_images,
                "resized_from": list(self.resized_from) if self.resized_from else None,
                "rule": {"z_min": Z_MIN, "mad_floor_pp": MAD_FLOOR_PP}}


def panel_sample(n_images: int, seed: int, most: int = PANEL_IMAGES) -> np.ndarray:
    """Sorted indices of the images the panel sees: all up to ``most``, else a seeded sample."""
    if n_images <= most:
        return np.arange(n_images)
    return np.sort(np.random.default_rng(seed + 7).choice(n_images, most, replace=False))


def _run_changes(run: ReferenceRun, n_classes: int) -> np.ndarray:
    before = np.bincount(np.asarray(run.preds_before, np.int64), minlength=n_classes)
    after = np.stack([np.bincount(np.asarray(row, np.int64), minlength=n_classes)
                      for row in run.preds_after])
    return 100.0 * (after - before) / len(run.preds_before)


def judge_effects(effects: Sequence[ProbeEffect], panel: PanelRun,
                  n_classes: int) -> list[ProbeEffect]:
    """Effects with the panel's view added: each member's change, the part beyond the most
    sensitive member (CI shifted by it) and the robust z against the panel."""
    changes = panel.changes(n_classes)  # (R, P, K)
    judged = []
    for p, effect in enumerate(effects):
        members = changes[:, p, :]
        top = members.max(axis=0)
        edge = top + margin(members)  # the most sensitive clean model, plus the margin
        judged.append(replace(
            effect, reference_change=top, specific=effect.rate_change - edge,
            specific_ci=effect.rate_change_ci - edge[:, None], panel_changes=members,
            panel_z=robust_z(effect.rate_change, members)))
    return judged


def typical_range(effect: ProbeEffect, k: int) -> str:
    """"clean FER2013 models: +3.0 to +21.0 pp" for class k (empty without a panel)."""
    if effect.panel_changes is None:
        return ""
    low, high = effect.panel_changes[:, k].min(), effect.panel_changes[:, k].max()
    return f"clean FER2013 models: {low:+.1f} to {high:+.1f} pp"


def member_models(entries: Sequence[PanelEntry], model_sha256: str, image_size: tuple[int, int],
                  batch_size: int, trust: bool) -> tuple[list[tuple[PanelEntry, ReferenceModel]],
                                                         list[str]]:
    """Load each member but the audited model itself → (entry, reference model) pairs and the
    names left out."""
    from reportgen.bias.reference import reference_model
    from reportgen.loading.model import Classifier, file_sha256, load_model

    loaded, left_out = [], []
    for entry in entries:
        sha = file_sha256(entry.path)
        if sha == model_sha256:
            left_out.append(entry.name)
            continue
        member = load_model(entry.path, trust=trust)
        scale = InputScale.RAW if member.has_rescaling else entry.scale
        classifier = Classifier(member, image_size, scale, batch_size=batch_size)
        loaded.append((entry, reference_model(classifier, entry.path, sha)))
    return loaded, left_out
