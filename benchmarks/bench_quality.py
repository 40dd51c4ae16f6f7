"""Benchmark the "Which explanations to trust" section: its added cost on the demo audit.

Run: ``python benchmarks/bench_quality.py [--model sample_models/fer_cnn.keras]``

1. The demo audit's stages (``run_audit`` on the bundled sample, default methods), wall time.
2. The quality stage of that audit ("Checking explanations"; run here on the audit's cases
   if the pipeline did not), broken down into faithfulness, sanity check and stability, plus
   its figures, HTML partial and its PDF pages (rendered alone): the added cost, also as a
   share of the audit's other stages.
3. Baseline for the faithfulness batching, measured in the same run: the same deletion and
   insertion curves with one ``classifier.predict`` call per curve point (as Quantus'
   PixelFlipping calls its model), on the first cases, extrapolated to all of them.
Targets (issue 6): the whole demo audit under 90 s; this section adds at most ~20 s.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
from pypdf import PdfReader

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from reportgen.attributions import AttributionSettings
from reportgen.loading.model import Classifier
from reportgen.pipeline import run_audit
from reportgen.progress import Reporter
from reportgen.quality import QualityResult, assess_explanations
from reportgen.quality.faithfulness import baseline_images, path_images, pixel_ranks, random_maps
from reportgen.quality.ranks import importance
from reportgen.report.figures.quality import quality_figures
from reportgen.report.render import make_environment, render_pdf
from reportgen.result import AuditOptions, AuditResult

CLASS_NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def run_demo(model: Path, data: Path) -> tuple[AuditResult, float]:
    start = time.perf_counter()
    with Reporter(quiet=True) as reporter:
        result = run_audit(AuditOptions(model_path=model, data_path=data), reporter)
    return result, time.perf_counter() - start


def classifier_for(result: AuditResult) -> Classifier:
    """The classifier the pipeline built (same scale, softmax and batch size)."""
    report = result.model
    return Classifier(report.loaded, result.dataset.images.shape[1:3], report.scale.scale,
                      apply_softmax=report.softmax_applied, batch_size=result.options.batch_size)


def quality_of(result: AuditResult, classifier: Classifier) -> tuple[QualityResult, float]:
    """The audit's quality result and its stage time; computed here if the pipeline has none."""
    if result.quality is not None:
        return result.quality, result.timings["Checking explanations"]
    attr = result.attributions
    start = time.perf_counter()
    quality = assess_explanations(classifier, attr.case_images, attr.case_preds, attr.case_maps,
                                  attr.methods,
                                  AttributionSettings(seed=result.options.seed,
                                                      batch_size=result.options.batch_size,
                                                      layer=result.options.gradcam_layer))
    return quality, time.perf_counter() - start


def per_step_faithfulness(classifier: Classifier, images: np.ndarray, targets: np.ndarray,
                          maps: dict[str, np.ndarray], n_cases: int, n_steps: int) -> float:
    """Seconds for the curves of ``n_cases`` cases with one predict call per curve point, as
    Quantus' PixelFlipping makes them (the methods' maps plus one random map)."""
    rng = np.random.default_rng(0)
    counts = np.round(np.linspace(0, 1, n_steps + 1)[1:-1] * images[0].size).astype(np.int32)
    start = time.perf_counter()
    for case in range(n_cases):
        image = images[case].astype(np.float32)
        fill = baseline_images(image[None], "blur")[0]
        scores = [importance(amap[case][None]) for amap in maps.values()]
        for score in [*scores, random_maps(1, image.shape, rng)]:
            inner = path_images(image.ravel(), fill.ravel(), pixel_ranks(score, rng), counts)
            points = np.concatenate([image[None], fill[None], inner.reshape(-1, *image.shape)])
            for point in points:
                classifier.predict(point[None])[0, targets[case]]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "sample_models" / "fer_cnn.keras")
    parser.add_argument("--data", type=Path, default=REPO / "sample_models" / "fer2013_demo.csv.gz")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    result, audit_s = run_demo(args.model, args.data)
    attr = result.attributions
    print(f"demo audit stages ({len(attr.case_preds)} cases, methods {', '.join(attr.methods)}): "
          f"{audit_s:.1f} s wall; stages: "
          + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items()))
    classifier = classifier_for(result)
    quality, assess_s = quality_of(result, classifier)
    start = time.perf_counter()
    figures = quality_figures(quality, CLASS_NAMES)
    figures_s = time.perf_counter() - start
    start = time.perf_counter()
    html = make_environment().get_template("sections/quality.html").render(
        quality=quality, quality_figs=figures, class_names=CLASS_NAMES)
    html_s = time.perf_counter() - start
    start = time.perf_counter()
    pages = len(PdfReader(io.BytesIO(render_pdf(f"<html><body>{html}</body></html>"))).pages)
    pdf_s = time.perf_counter() - start
    added = assess_s + figures_s + html_s + pdf_s
    without = audit_s - (assess_s if result.quality is not None else 0.0)
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in quality.seconds.items())
    print(f"quality stage: {assess_s:.1f} s ({parts}); figures {figures_s:.1f} s; "
          f"HTML {html_s:.2f} s; its {pages} PDF pages {pdf_s:.1f} s")
    print(f"added cost: {added:.1f} s = {100 * added / without:.0f}% on top of the "
          f"{without:.1f} s the audit's stages take without it")
    n_cases = min(4, len(quality.targets))
    naive = per_step_faithfulness(classifier, quality.images, quality.targets, quality.maps,
                                  n_cases, quality.settings.n_steps)
    naive_all = naive / n_cases * len(quality.targets)
    ours = quality.seconds["faithfulness"]
    print(f"faithfulness, one predict call per curve point: {naive:.1f} s for {n_cases} cases, "
          f"~{naive_all:.1f} s for all {len(quality.targets)} (extrapolated); "
          f"batched: {ours:.1f} s; ratio {naive_all / ours:.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    for row in quality.rows:
        print(f"  {row.rank}. {row.title}: faithfulness {row.faithfulness:+.3f} "
              f"[{row.faithfulness_ci[0]:+.3f}, {row.faithfulness_ci[1]:+.3f}]; "
              f"sanity {row.sanity_passed}")
    print(quality.verdict)


if __name__ == "__main__":
    main()
