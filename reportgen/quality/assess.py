"""The explanation-quality stage: which attribution maps to trust for this model.

``assess_explanations`` takes the maps the attribution stage already made and returns an
immutable ``QualityResult``: faithfulness over every explained case, the randomisation
sanity check and the seed stability on small subsets (their sizes are in ``QualitySettings``),
agreement between methods, a ranked table and a verdict. Rendering reads only the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np

from reportgen.attributions.base import Explainer
from reportgen.attributions.registry import REGISTRY
from reportgen.attributions.settings import AttributionSettings
from reportgen.loading.model import Classifier
from reportgen.numbers import round_finite
from reportgen.progress import Advance, Track
from reportgen.quality import faithfulness as faith
from reportgen.quality.agreement import agreement_matrix
from reportgen.quality.ranks import TOP_FRACTION, title_of
from reportgen.quality.sanity import (
    MAX_SPEARMAN,
    MAX_SSIM,
    SanityResult,
    check_randomisation,
    checkpoints,
    sanity_subset,
    weight_blocks,
)
from reportgen.quality.stability import StabilityResult, measure_stability
from reportgen.quality.verdict import MethodQuality, rank_methods, write_verdict
from reportgen.stats import bootstrap_mean_ci

T = TypeVar("T")


@dataclass(frozen=True)
class QualitySettings:
    """Every setting that changes the numbers, stated in the report and summary.json.

    The subsets keep the cost low: the sanity check re-explains ``n_sanity`` cases at each
    of its (up to) 3 cascade checkpoints, and ``n_sanity_sampled`` cases at the last one
    only for LIME/SHAP, which need ~1000 model calls per image; stability re-explains
    ``n_stability`` cases (``n_stability_gradient`` for stochastic gradient methods such as
    SmoothGrad, which are cheap) with ``n_seeds - 1`` more seeds.
    """

    baseline: faith.Baseline = "blur"
    blur_sigma: float = faith.BLUR_SIGMA
    n_steps: int = faith.N_STEPS
    n_random: int = 1
    random_grain: float = faith.RANDOM_GRAIN
    n_sanity: int = 5
    n_sanity_sampled: int = 3
    max_spearman: float = MAX_SPEARMAN
    max_ssim: float = MAX_SSIM
    n_stability: int = 3
    n_stability_gradient: int = 12
    n_seeds: int = 2
    top_fraction: float = TOP_FRACTION


@dataclass(frozen=True)
class QualityResult:
    """Everything the "Which explanations to trust" section shows. M explained cases.

    ``rows`` are ranked best first; ``agreement`` (K, K) follows ``methods``; ``images``
    (M, h, w) uint8, ``targets`` (M,) and ``maps`` (method → (M, h, w)) are the inputs,
    kept for the figures.
    """

    methods: tuple[str, ...]
    rows: tuple[MethodQuality, ...]
    faithfulness: faith.FaithfulnessResult
    sanity: SanityResult
    stability: StabilityResult | None
    agreement: np.ndarray
    verdict: str
    settings: QualitySettings
    seconds: dict[str, float]
    images: np.ndarray
    targets: np.ndarray
    maps: dict[str, np.ndarray]

    def row(self, method: str) -> MethodQuality:
        """The table row of ``method``."""
        return next(row for row in self.rows if row.name == method)

    def to_summary(self) -> dict[str, Any]:
        """The ``quality`` key of summary.json (floats rounded, NaN as null)."""
        return {
            "n_cases": len(self.targets),
            "settings": asdict(self.settings),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "methods": {row.name: self._method_summary(row) for row in self.rows},
            "ranking": [row.name for row in self.rows],
            "agreement": {"methods": list(self.methods),
                          "matrix": [[round_finite(v) for v in line] for line in self.agreement]},
            "verdict": self.verdict,
        }

    def _method_summary(self, row: MethodQuality) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "title": row.title,
            "rank": row.rank,
            "deletion_auc": round_finite(row.deletion_auc),
            "insertion_auc": round_finite(row.insertion_auc),
            "random_deletion_auc": round_finite(row.random_deletion_auc),
            "random_insertion_auc": round_finite(row.random_insertion_auc),
            "faithfulness": round_finite(row.faithfulness),
            "faithfulness_ci": [round_finite(v) for v in row.faithfulness_ci],
            "faithful": row.faithful,
            "sanity": self._sanity_summary(row),
            "stability": None,
        }
        if row.stability_jaccard is not None and self.stability is not None:
            summary["stability"] = {"jaccard": round_finite(row.stability_jaccard),
                                    "spearman": round_finite(row.stability_spearman),
                                    "n_cases": len(self.stability.positions[row.name]),
                                    "seeds": list(self.stability.seeds)}
        return summary

    def _sanity_summary(self, row: MethodQuality) -> dict[str, Any]:
        sanity = self.sanity
        if not sanity.run or sanity.spearman is None or sanity.ssim is None:
            return {"run": False, "reason": sanity.reason, "spearman": None, "ssim": None,
                    "passed": None}
        return {
            "run": True, "spearman": round_finite(row.sanity_spearman), "ssim": round_finite(row.sanity_ssim),
            "passed": row.sanity_passed,
            "n_cases": len(sanity.positions[row.name]) if sanity.positions else 0,
            "stages": [{"randomised": stage, "spearman": round_finite(rho), "ssim": round_finite(ssim)}
                       for stage, rho, ssim in zip(sanity.stages, sanity.spearman[row.name],
                                                   sanity.ssim[row.name])],
        }



def assess_explanations(
    classifier: Classifier,
    images: np.ndarray,
    targets: np.ndarray,
    maps: Mapping[str, np.ndarray],
    methods: Sequence[str],
    attribution: AttributionSettings | None = None,
    progress: Track | None = None,
    settings: QualitySettings | None = None,
) -> QualityResult:
    """Judge every method's maps of the M explained cases.

    ``images`` (M, h, w) uint8 0–255, ``targets`` (M,) the explained classes, ``maps``
    method → (M, h, w) from the attribution stage (reused, not recomputed); ``methods``
    those to judge, in order (methods without maps are skipped). ``attribution`` is the
    attribution stage's settings, from which the re-explaining explainers are built, so
    re-explained maps are comparable; its seed also seeds this stage.
    ``progress(description, total)`` may return an ``advance(n)`` callback.
    Raises ValueError when there are no cases or no methods with maps.
    """
    config = settings or QualitySettings()
    names = tuple(m for m in methods if m in maps)
    if len(targets) == 0 or not names:
        raise ValueError("assess_explanations needs at least one explained case and one method "
                         "with maps")
    explainers = attribution or AttributionSettings()
    seed = explainers.seed
    run = _Run(classifier, np.asarray(images), np.asarray(targets, dtype=np.int32),
               {m: np.asarray(maps[m], dtype=np.float32) for m in names}, names, explainers,
               config, progress)
    seconds: dict[str, float] = {}
    faithfulness = _timed(seconds, "faithfulness", lambda: _faithfulness(run))
    sanity = _timed(seconds, "sanity", lambda: _sanity(run))
    stability = _timed(seconds, "stability", lambda: _stability(run))
    agreement = agreement_matrix(run.maps)
    rows = rank_methods([_row(m, faithfulness, sanity, stability, seed) for m in names])
    return QualityResult(names, tuple(rows), faithfulness, sanity, stability, agreement,
                         write_verdict(rows, agreement, len(targets)), config, seconds,
                         run.pixels.astype(np.uint8), run.classes, run.maps)


@dataclass(frozen=True)
class _Run:
    """The inputs every step of the stage shares."""

    classifier: Classifier
    pixels: np.ndarray  # (M, h, w)
    classes: np.ndarray  # (M,)
    maps: dict[str, np.ndarray]  # method → (M, h, w) float32
    names: tuple[str, ...]
    explainers: AttributionSettings
    config: QualitySettings
    progress: Track | None

    @property
    def seed(self) -> int:
        return self.explainers.seed

    @property
    def batch_size(self) -> int | None:
        return self.explainers.batch_size

    def advance(self, description: str, total: int) -> Advance | None:
        return self.progress(description, total) if self.progress else None


def _timed(seconds: dict[str, float], name: str, step: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = step()
    seconds[name] = time.perf_counter() - start
    return result


def _faithfulness(run: _Run) -> faith.FaithfulnessResult:
    config = run.config
    return faith.measure_faithfulness(
        run.classifier, run.pixels, run.classes, run.maps, config.baseline, config.n_steps,
        config.n_random, run.seed, run.batch_size, run.advance("quality: faithfulness",
                                                               len(run.classes)),
        blur_sigma=config.blur_sigma, random_grain=config.random_grain)


def _sanity(run: _Run) -> SanityResult:
    """The randomisation check on the documented subsets (sampling methods: fewer, last step)."""
    config = run.config
    sampled = {m for m in run.names if not _describes(m).gradient_based}
    subsets = sanity_subset(len(run.classes), run.names, sampled, config.n_sanity,
                            config.n_sanity_sampled, run.seed)
    model = run.classifier.model.keras_model
    n_stages = len(checkpoints(len(weight_blocks(model)))) if model is not None else 0
    total = sum(len(p) * (1 if m in sampled else n_stages) for m, p in subsets.items())
    return check_randomisation(run.classifier, run.pixels, run.classes, run.maps, subsets,
                               run.explainers, run.advance("quality: sanity check", total),
                               config.max_spearman, config.max_ssim, sampled)


def _stability(run: _Run) -> StabilityResult | None:
    """Stability of the stochastic methods among the judged ones; None when there are none."""
    config = run.config
    methods = [m for m in run.names if _describes(m).stochastic]
    if not methods or config.n_seeds < 2:
        return None
    order = np.random.default_rng(run.seed).permutation(len(run.classes))
    # Cheap (gradient) methods are checked on more cases: a 3-case mean is a rough estimate.
    sizes = {m: config.n_stability_gradient if _describes(m).gradient_based
             else config.n_stability for m in methods}
    total = sum(min(n, len(order)) for n in sizes.values()) * (config.n_seeds - 1)
    advance = run.advance("quality: stability", total)
    parts = [measure_stability(run.classifier, run.pixels, run.classes, run.maps,
                               [m for m in methods if sizes[m] == n], np.sort(order[:n]),
                               run.explainers, config.n_seeds, advance, config.top_fraction)
             for n in sorted(set(sizes.values()))]
    return StabilityResult(parts[0].seeds,
                           {m: p for part in parts for m, p in part.positions.items()},
                           {m: v for part in parts for m, v in part.jaccard.items()},
                           {m: v for part in parts for m, v in part.spearman.items()})


def _describes(method: str) -> type[Explainer]:
    """The registered class of ``method``; the base class (deterministic, gradient-free)
    for maps from elsewhere, which this stage judges but never re-explains stochastically."""
    return REGISTRY.get(method, Explainer)


def _row(method: str, faithfulness: faith.FaithfulnessResult, sanity: SanityResult,
         stability: StabilityResult | None, seed: int) -> MethodQuality:
    curves, random = faithfulness.curves[method], faithfulness.random
    margins = faithfulness.margins(method)
    final = sanity.final(method)
    measured = stability is not None and method in stability.jaccard
    return MethodQuality(
        name=method,
        title=title_of(method),
        deletion_auc=float(curves.deletion_aucs().mean()),
        insertion_auc=float(curves.insertion_aucs().mean()),
        random_deletion_auc=float(random.deletion_aucs().mean()),
        random_insertion_auc=float(random.insertion_aucs().mean()),
        faithfulness=float(margins.mean()),
        faithfulness_ci=bootstrap_mean_ci(margins, seed),
        sanity_spearman=final[0] if final else None,
        sanity_ssim=final[1] if final else None,
        sanity_passed=sanity.passed(method),
        sanity_max_spearman=sanity.max_spearman,
        sanity_max_ssim=sanity.max_ssim,
        stability_jaccard=stability.jaccard[method] if measured and stability else None,
        stability_spearman=stability.spearman[method] if measured and stability else None,
    )
