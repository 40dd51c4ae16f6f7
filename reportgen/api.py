"""The Python API: ``reportgen.audit(...)`` returns an ``Audit``; ``reportgen.gate(...)`` a verdict.

The command line is a thin layer over this module: both build ``AuditOptions``, run the stages
through ``run``, and write what ``Audit.files`` renders.

    import reportgen
    a = reportgen.audit(model, (images, labels))   # a keras.Model and arrays, or two paths
    a                                              # in Jupyter: headline metrics and findings
    a.save("audit/")                               # report.html, report.pdf, summary.json
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.errors import InputError
from reportgen.resources import sample_data, sample_model

if TYPE_CHECKING:
    import keras
    import numpy as np

    from reportgen.gating.policy import Policy
    from reportgen.gating.verdict import Verdict
    from reportgen.loading.dataset import Dataset
    from reportgen.loading.model import LoadedModel
    from reportgen.progress import Reporter
    from reportgen.result import AuditOptions, AuditResult

FORMATS = ("html", "pdf", "json")
FILE_NAMES = {"html": "report.html", "pdf": "report.pdf", "json": "summary.json"}
RENDER_STAGE = "Rendering report"


@dataclass(frozen=True)
class Audit:
    """One finished run: the stages' result, the policy verdict and the summary, all immutable.

    ``summary`` is the dict written as ``summary.json``; ``findings`` and ``checks`` are its
    ``bias.findings`` and ``checks`` entries.
    """

    result: AuditResult
    verdict: Verdict
    base_summary: dict[str, Any] = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict, repr=False)

    @property
    def summary(self) -> dict[str, Any]:
        from reportgen.report.summary import with_verdict

        return with_verdict(self.base_summary, self.verdict, self.timings)

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self.summary["bias"]["findings"])

    @property
    def checks(self) -> list[dict[str, Any]]:
        return list(self.summary["checks"])

    @property
    def passed(self) -> bool:
        """True when no policy check failed (always true without a policy)."""
        return self.verdict.passed

    def files(self, formats: Iterable[str] = FORMATS, reporter: Reporter | None = None) -> dict[str, bytes]:
        """Render the chosen formats: file name → content (HTML, PDF and JSON bytes)."""
        chosen = check_formats(formats)
        files: dict[str, bytes] = {}
        timings = dict(self.timings)
        if "html" in chosen or "pdf" in chosen:
            from reportgen.report.render import render_html, render_pdf

            start = time.perf_counter()
            with reporter.stage(RENDER_STAGE) if reporter is not None else nullcontext():
                html = render_html(self.result, self.verdict)
                if "pdf" in chosen:
                    files["report.pdf"] = render_pdf(html)
                if "html" in chosen:
                    files["report.html"] = html.encode("utf-8")
            timings[RENDER_STAGE] = round(time.perf_counter() - start, 3)
        if "json" in chosen:
            from reportgen.report.summary import to_json, with_verdict

            files["summary.json"] = to_json(with_verdict(self.base_summary, self.verdict, timings))
        return files

    def save(self, out_dir: str | Path, formats: Iterable[str] = FORMATS) -> list[Path]:
        """Write the chosen files into ``out_dir`` (created if missing), atomically; return their paths."""
        from reportgen.report.output import prepare_out_dir, write_files

        out = Path(out_dir)
        prepare_out_dir(out)
        return write_files(out, self.files(formats))

    def log_mlflow(self, paths: Sequence[Path] | None = None) -> str:
        """Log headline metrics, checks and the report files to the active MLflow run (one is
        started if none is active) at the current tracking URI; return the run id.

        Needs the ``mlflow`` extra (``pip install 'reportgen[mlflow]'``).
        """
        from reportgen.tracking import log_audit

        return log_audit(self, paths)

    def _repr_html_(self) -> str:
        from reportgen.report.notebook import render_notebook

        return render_notebook(self.result, self.verdict)

    def __repr__(self) -> str:
        metrics = self.base_summary["metrics"]
        return (f"<reportgen.Audit {self.result.model.loaded.path.name}: accuracy "
                f"{metrics['accuracy']}, {len(self.findings)} findings, "
                f"{'passed' if self.passed else 'FAILED'}>")


def check_formats(formats: Iterable[str] | str) -> tuple[str, ...]:
    """Validate output formats (``html``, ``pdf``, ``json``), order kept, duplicates dropped."""
    names = formats.split(",") if isinstance(formats, str) else list(formats)
    chosen: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if name not in FORMATS:
            raise InputError(f"--formats: unknown format '{raw}' (choose from {', '.join(FORMATS)})")
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise InputError("--formats: choose at least one of html, pdf, json")
    return tuple(chosen)


def policy_warnings(policy: Policy | None, baseline: Mapping[str, Any] | None, command: str) -> list[str]:
    """Why some of the policy's checks will be skipped in this run (shown before the work)."""
    if policy is None:
        return []
    messages = []
    if skipped := policy.skipped_without_baseline(baseline):
        messages.append(f"{policy.source}: no --baseline given, so the [baseline] checks "
                        f"{', '.join(skipped)} are skipped")
    if command == "gate" and (audit_only := policy.skipped_in_gate()):
        messages.append(f"{policy.source}: gate computes no attributions, so "
                        f"{', '.join(audit_only)} are skipped (reportgen audit checks them)")
    return messages


def run(options: AuditOptions, policy: Policy | None, baseline: Mapping[str, Any] | None,
        reporter: Reporter, loaded: LoadedModel | None = None, dataset: Dataset | None = None) -> Audit:
    """Run the stages, build the summary once and judge it: what the CLI and the API share."""
    from reportgen.gating.verdict import judge
    from reportgen.pipeline import run_audit
    from reportgen.report.summary import build_summary

    result = run_audit(options, reporter, loaded=loaded, dataset=dataset)
    summary = build_summary(result)
    return Audit(result, judge(summary, policy, baseline), summary, dict(reporter.timings))


def audit(
    model: str | Path | keras.Model | None = None,
    data: str | Path | tuple[np.ndarray, np.ndarray] | None = None,
    *,
    split: str | None = None,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    input_scale: str = "auto",
    class_names: Sequence[str] | None = None,
    policy: str | Path | None = None,
    baseline: str | Path | None = None,
    cases_per_group: int = 3,
    borderline_gap: float = 0.10,
    confident_p: float = 0.80,
    gradcam_layer: str | None = None,
    batch_size: int = 256,
    skip_bad_rows: bool = False,
    trust_model: bool = False,
    executor: str = "local",
    ray_address: str | None = None,
    quiet: bool = True,
) -> Audit:
    """Audit ``model`` on ``data`` and return the result; nothing is written until ``save``.

    model: a path (``.keras``, ``.h5``, SavedModel folder) or an in-memory ``keras.Model``
      [the bundled sample model]. data: a path (FER2013 CSV, CSV or Parquet shards, or image folders) or
      ``(images, labels)``: images (N, H, W) or (N, H, W, 1|3), uint8 0–255 or float 0–1,
      0–255 or −1–1; labels (N,) class indices [the bundled demo sample].
    methods: attribution methods (None: the defaults, []: none). executor: where the model runs
    over the split, ``local`` or ``ray`` (the ``ray`` extra; ``ray_address`` an existing cluster).
    Raises ``InputError`` on bad input, with a message naming the file or argument.
    """
    from reportgen.evaluation.select import SelectionRules

    extra = {"methods": parse_methods(methods), "gradcam_layer": gradcam_layer,
             "rules": SelectionRules(borderline_gap, confident_p, cases_per_group, seed),
             **_executor(executor, ray_address)}
    return _api_run("audit", model, data, split, seed, input_scale, class_names, policy, baseline,
                    batch_size, skip_bad_rows, trust_model, quiet, extra)


def gate(
    model: str | Path | keras.Model | None = None,
    data: str | Path | tuple[np.ndarray, np.ndarray] | None = None,
    *,
    policy: str | Path | None = None,
    baseline: str | Path | None = None,
    split: str | None = None,
    seed: int = 0,
    input_scale: str = "auto",
    class_names: Sequence[str] | None = None,
    batch_size: int = 256,
    skip_bad_rows: bool = False,
    trust_model: bool = False,
    executor: str = "local",
    ray_address: str | None = None,
    quiet: bool = True,
) -> Verdict:
    """Evaluate and probe ``model`` (no attributions, no figures) and return the policy's
    ``Verdict`` (``.passed``, ``.checks``, ``.failed``, ``.comparison``). Arguments as ``audit``."""
    return _api_run("gate", model, data, split, seed, input_scale, class_names, policy, baseline,
                    batch_size, skip_bad_rows, trust_model, quiet,
                    _executor(executor, ray_address)).verdict


def _api_run(command: str, model: Any, data: Any, split: str | None, seed: int, input_scale: str,
             class_names: Sequence[str] | None, policy_path: str | Path | None,
             baseline_path: str | Path | None, batch_size: int, skip_bad_rows: bool,
             trust_model: bool, quiet: bool, extra: dict[str, Any]) -> Audit:
    from reportgen.gating.verdict import load_gate_inputs
    from reportgen.loading.dataset import FER2013_CLASSES
    from reportgen.loading.pixels import InputScale
    from reportgen.progress import Reporter
    from reportgen.result import AuditOptions, Command

    names = tuple(class_names) if class_names is not None else FER2013_CLASSES
    policy, baseline = load_gate_inputs(_path(policy_path), _path(baseline_path))
    for message in policy_warnings(policy, baseline, command):
        warnings.warn(message, stacklevel=3)
    loaded, model_path = _model(model, trust_model)
    dataset, data_path = _data(data, names)
    try:
        scale = InputScale(input_scale)
    except ValueError:
        raise InputError(f"input_scale: '{input_scale}' is not one of auto, 0-255, 0-1, -1-1") from None
    options = AuditOptions(model_path=model_path, data_path=data_path, command=Command(command),
                           split=split, input_scale=scale, seed=seed, class_names=names,
                           batch_size=batch_size, skip_bad_rows=skip_bad_rows,
                           trust_model=trust_model, **extra)
    with Reporter(quiet) as reporter:
        outcome = run(options, policy, baseline, reporter, loaded=loaded, dataset=dataset)
    for note in outcome.result.notes:
        warnings.warn(note, stacklevel=3)
    return outcome


def _executor(executor: str, ray_address: str | None) -> dict[str, Any]:
    from reportgen.preflight import check_executor

    check_executor(executor, ray_address)
    return {"executor": executor, "ray_address": ray_address}


def _path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)


def _model(model: Any, trust: bool) -> tuple[LoadedModel | None, Path]:
    """A path is read by the pipeline (and its hash taken from the file); a model is described here."""
    if model is None:
        return None, sample_model()
    if isinstance(model, str | Path):
        return None, Path(model)
    import keras

    from reportgen.loading.model import describe_keras_model

    if not isinstance(model, keras.Model):
        raise InputError(f"model: expected a path or a keras.Model, got {type(model).__name__}")
    loaded = describe_keras_model(model)
    return loaded, loaded.path


def _data(data: Any, class_names: tuple[str, ...]) -> tuple[Dataset | None, Path]:
    if data is None:
        return None, sample_data()
    if isinstance(data, str | Path):
        return None, Path(data)
    if isinstance(data, tuple | list) and len(data) == 2:
        from reportgen.loading.arrays import dataset_from_arrays

        dataset = dataset_from_arrays(data[0], data[1], class_names)
        return dataset, dataset.path
    raise InputError(f"data: expected a path or (images, labels), got {type(data).__name__}")


def parse_methods(methods: Sequence[str] | str | None) -> tuple[str, ...] | None:
    if methods is None:
        return None
    from reportgen.attributions import check_methods

    names = [methods] if isinstance(methods, str) else list(methods)
    if [n.strip().lower() for n in names] == ["none"]:
        return ()
    return check_methods(names)
