"""What a comparison is asked to do (``CompareOptions``) and what it found (``ComparisonResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Types only: the CLI reads MIN_MODELS before anything heavy (scikit-learn, TensorFlow) loads.
if TYPE_CHECKING:
    from reportgen.comparison.disagreement import Disagreement
    from reportgen.comparison.explain import SideBySideMaps
    from reportgen.comparison.findings import FindingRow
    from reportgen.comparison.paired import PairedStatistics
    from reportgen.comparison.ranking import Recommendation
    from reportgen.gating.policy import Policy
    from reportgen.gating.verdict import Verdict
    from reportgen.loading.dataset import Dataset
    from reportgen.loading.pixels import InputScale
    from reportgen.result import AuditOptions, AuditResult

MIN_MODELS = 2


@dataclass(frozen=True)
class CompareOptions:
    """``base`` holds everything the models share (data, split, seed, limits, detectors); each
    model runs as ``gate`` would with ``base`` and its own path and input scale."""

    base: AuditOptions
    model_paths: tuple[Path, ...]
    input_scales: tuple[InputScale, ...]  # one per model (auto: each model's own detection)
    explain: bool = True  # saliency maps side by side on a few cases

    def __post_init__(self) -> None:
        if len(self.input_scales) != len(self.model_paths):
            raise ValueError("one input scale per model")


@dataclass(frozen=True)
class ModelRun:
    """One model's gate run on the shared data: its result, the policy's verdict, its summary."""

    name: str  # the file's stem, with its folder when two stems are alike
    result: AuditResult
    verdict: Verdict
    summary: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class ComparisonResult:
    """The immutable outcome of a comparison; the renderer reads only this."""

    options: CompareOptions
    dataset: Dataset
    runs: tuple[ModelRun, ...]
    paired: PairedStatistics
    disagreement: Disagreement
    findings: tuple[FindingRow, ...]
    explanations: SideBySideMaps | None
    recommendation: Recommendation
    policy: Policy | None
    timings: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [run.name for run in self.runs]
