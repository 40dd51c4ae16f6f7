"""What a run is asked to do (``AuditOptions``) and what it found (``AuditResult``).

Each stage's own result type lives beside the stage that makes it; this module gathers them.
The runner (``reportgen.pipeline``) builds an ``AuditResult``; the report and the gate read it,
and import it from here, never from the runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from reportgen.evaluation.select import SelectionRules
from reportgen.loading.dataset import FER2013_CLASSES
from reportgen.loading.limits import DEFAULT_LIMITS, InputLimits
from reportgen.loading.pixels import InputScale

if TYPE_CHECKING:
    from reportgen.attributions.result import AttributionResult
    from reportgen.bias.analysis import BiasResult
    from reportgen.bias.hygiene import HygieneResult
    from reportgen.evaluation.evaluate import Evaluation
    from reportgen.evaluation.select import Selection
    from reportgen.loading.dataset import Dataset
    from reportgen.loading.model import LoadedModel
    from reportgen.loading.scaling import ScaleDecision
    from reportgen.quality.assess import QualityResult


NO_REFERENCE = Path("none")  # ``--reference-model none``


class Command(str, Enum):
    AUDIT = "audit"
    GATE = "gate"


@dataclass(frozen=True)
class AuditOptions:
    """Everything a run depends on, built once (by the CLI or the API) and never rebuilt.

    ``rules`` carries the seed used to draw cases; it must equal ``seed``.
    """

    model_path: Path
    data_path: Path
    command: Command = Command.AUDIT
    split: str | None = None
    input_scale: InputScale = InputScale.AUTO
    seed: int = 0
    class_names: tuple[str, ...] = FER2013_CLASSES
    methods: tuple[str, ...] | None = None  # None: the attribution package's defaults
    rules: SelectionRules = field(default_factory=SelectionRules)
    batch_size: int = 256
    skip_bad_rows: bool = False
    trust_model: bool = False
    gradcam_layer: str | None = None
    # A clean model trained on the same data; None: the bundled sample model for 7-class
    # 48×48 FER2013, else no reference; ``NO_REFERENCE``: never one
    reference_model: Path | None = None
    argv: tuple[str, ...] = ()
    limits: InputLimits = DEFAULT_LIMITS
    executor: str = "local"  # where the model pass runs (``reportgen.executors``)
    ray_address: str | None = None  # an existing Ray cluster, for executor "ray"
    skip: tuple[str, ...] = ()  # detectors, probe families or mechanisms switched off
    # every probe and patch-scan stamp on every image, and every attribution method at its
    # full sample count (no sequential stopping, no adaptive SmoothGrad)
    exhaustive: bool = False
    # What the caller assumed and the report must say (the API's class order for arrays given
    # without class_names); shown with the run's own notes.
    notes: tuple[str, ...] = ()
    pdf_appendix: bool = False  # report.pdf also prints the detail sections (report.html has them)

    def __post_init__(self) -> None:
        if self.rules.seed != self.seed:
            raise ValueError(f"rules.seed {self.rules.seed} differs from seed {self.seed}")


@dataclass(frozen=True)
class ModelReport:
    loaded: LoadedModel
    scale: ScaleDecision
    softmax_applied: bool
    n_nonfinite: int  # images whose raw outputs held NaN or inf


@dataclass(frozen=True)
class AuditResult:
    """The immutable outcome of one run's stages; the policy verdict is kept apart from it
    (``reportgen.gating.Verdict``), so that the summary is built once and then judged."""

    options: AuditOptions
    dataset: Dataset
    model: ModelReport
    evaluation: Evaluation
    selection: Selection
    attributions: AttributionResult | None = None
    quality: QualityResult | None = None
    bias: BiasResult | None = None
    hygiene: HygieneResult | None = None
    timings: dict[str, float] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
