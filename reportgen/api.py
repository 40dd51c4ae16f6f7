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

        return with_verdict(self.base_summary, self.verdict, self.timings, self.result)

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self.summary["bias"]["findings"])

    @property
    def checks(self) -> list[dict[str, Any]]:
        return list(self.summary["checks"])

    @property
    def passed(self) -> bool:
        """True when no check of the policy in force failed (always true with ``policy="none"``)."""
        return self.verdict.passed

    def files(self, formats: Iterable[str] = FORMATS, reporter: Reporter | None = None) -> dict[str, bytes]:
        """Render the chosen formats: file name → content (HTML, PDF and JSON bytes)."""
        chosen = check_formats(formats)
        files: dict[str, bytes] = {}
        timings = dict(self.timings)
        if "html" in chosen or "pdf" in chosen:
            from reportgen.report.render import Layout, render_documents, render_pdf

            start = time.perf_counter()
            with reporter.stage(RENDER_STAGE) if reporter is not None else nullcontext():
                # The PDF is printed from its own HTML: the brief, a contents page, and the
                # detail sections only with --pdf-appendix; the figures are drawn once for both.
                layouts = {"html": Layout(), "pdf": Layout(pdf=True,
                                                          appendix=self.result.options.pdf_appendix)}
                wanted = [f for f in ("html", "pdf") if f in chosen]
                documents = render_documents(self.result, self.verdict,
                                             tuple(layouts[f] for f in wanted))
                for kind, html in zip(wanted, documents):
                    files[FILE_NAMES[kind]] = (render_pdf(html) if kind == "pdf"
                                               else html.encode("utf-8"))
            timings[RENDER_STAGE] = round(time.perf_counter() - start, 3)
        if "json" in chosen:
            from reportgen.report.summary import to_json, with_verdict

            files["summary.json"] = to_json(with_verdict(self.base_summary, self.verdict, timings,
                                                        self.result))
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

        Needs the ``mlflow`` extra (``pip install 'reportgen-fer[mlflow]'``).
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
    # The default's audit-only check is skipped in gate by design: no warning for a choice nobody made.
    if command == "gate" and not policy.default and (audit_only := policy.skipped_in_gate()):
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
    policy: str | Path | Mapping[str, Any] | Policy | None = None,
    baseline: str | Path | Mapping[str, Any] | Audit | None = None,
    cases_per_group: int = 3,
    borderline_gap: float = 0.10,
    confident_p: float = 0.80,
    gradcam_layer: str | None = None,
    batch_size: int = 256,
    skip_bad_rows: bool = False,
    trust_model: bool = False,
    quiet: bool = True,
    executor: str | None = None,
    ray_address: str | None = None,
    exhaustive: bool = False,
) -> Audit:
    """Audit ``model`` on ``data`` and return the result; nothing is written until ``save``.

    model: a path (``.keras``, ``.h5``, SavedModel folder) or an in-memory ``keras.Model``
      [the bundled sample model]. data: a path (FER2013 CSV, CSV or Parquet shards, or image folders) or
      ``(images, labels)``: images (N, H, W) or (N, H, W, 1|3), uint8 0–255 or float 0–1,
      0–255 or −1–1; labels (N,) class indices [the bundled demo sample].
    class_names: the classes in the labels' (and the model's outputs') index order; arrays given
      without them are read in FER2013's order (0 angry … 6 neutral), with a warning that the
      report repeats.
    policy: a policy file, a dict in its TOML layout, a ``reportgen.gating.Policy``, "none" (no
      checks) or None [reportgen's default policy, ``reportgen policy show`` prints it].
    baseline: a baseline ``summary.json`` path, a summary dict, or an earlier ``Audit``.
    methods: attribution methods (None: the defaults, []: none). executor: where the model pass
    runs, "local" or "ray" [local; ray when ``ray_address``, an existing cluster, is given].
    exhaustive: every probe and search on every image, instead of stopping each once settled.
    Raises ``InputError`` on bad input, with a message naming the file or argument.
    """
    from reportgen.preflight import check_executor

    executor = check_executor(executor, ray_address)
    extra = {"methods": parse_methods(methods), "gradcam_layer": gradcam_layer,
             "rules": (borderline_gap, confident_p, cases_per_group, seed),
             "executor": executor, "ray_address": ray_address, "exhaustive": exhaustive}
    return _api_run("audit", model, data, split, seed, input_scale, class_names, policy, baseline,
                    batch_size, skip_bad_rows, trust_model, quiet, extra)


def gate(
    model: str | Path | keras.Model | None = None,
    data: str | Path | tuple[np.ndarray, np.ndarray] | None = None,
    *,
    policy: str | Path | Mapping[str, Any] | Policy | None = None,
    baseline: str | Path | Mapping[str, Any] | Audit | None = None,
    split: str | None = None,
    seed: int = 0,
    input_scale: str = "auto",
    class_names: Sequence[str] | None = None,
    batch_size: int = 256,
    skip_bad_rows: bool = False,
    trust_model: bool = False,
    quiet: bool = True,
    executor: str | None = None,
    ray_address: str | None = None,
    exhaustive: bool = False,
) -> Verdict:
    """Evaluate and probe ``model`` (no attributions, no figures) and return the policy's
    ``Verdict`` (``.passed``, ``.checks``, ``.failed``, ``.comparison``). Arguments as ``audit``."""
    from reportgen.preflight import check_executor

    executor = check_executor(executor, ray_address)
    return _api_run("gate", model, data, split, seed, input_scale, class_names, policy, baseline,
                    batch_size, skip_bad_rows, trust_model, quiet,
                    {"executor": executor, "ray_address": ray_address,
                     "exhaustive": exhaustive}).verdict


def _api_run(command: str, model: Any, data: Any, split: str | None, seed: int, input_scale: str,
             class_names: Sequence[str] | None, policy_spec: Any,
             baseline_spec: Any, batch_size: int, skip_bad_rows: bool,
             trust_model: bool, quiet: bool, extra: dict[str, Any]) -> Audit:
    from reportgen.gating.defaults import choose_policy
    from reportgen.loading.dataset import FER2013_CLASSES
    from reportgen.preflight import preflight

    names = tuple(class_names) if class_names is not None else FER2013_CLASSES
    # Every path, the split and the policy are checked before TensorFlow is imported.
    inputs = preflight(model=_given_path(model, sample_model()), data=_given_path(data, sample_data()),
                       class_names=names, split=split, policy=choose_policy(policy_spec),
                       baseline=_baseline(baseline_spec), trust_model=trust_model, seed=seed)
    policy, baseline = inputs.policy, inputs.baseline

    from reportgen.loading.pixels import InputScale
    from reportgen.progress import Reporter, import_tensorflow_quietly
    from reportgen.result import AuditOptions, Command

    import_tensorflow_quietly()  # TensorFlow's C++ start-up lines, hidden as the CLI hides them

    if "rules" in extra:
        from reportgen.evaluation.select import SelectionRules

        extra = {**extra, "rules": SelectionRules(*extra["rules"])}
    for message in policy_warnings(policy, baseline, command):
        warnings.warn(message, stacklevel=3)
    if policy is None:
        warnings.warn("policy='none': no policy is applied, so nothing is checked", stacklevel=3)
    loaded, model_path = _model(model, trust_model)
    dataset, data_path = _data(data, names)
    notes = _class_order_notes(data, class_names)
    for message in notes:
        warnings.warn(message, stacklevel=3)
    try:
        scale = InputScale(input_scale)
    except ValueError:
        raise InputError(f"input_scale: '{input_scale}' is not one of auto, 0-255, 0-1, -1-1") from None
    options = AuditOptions(model_path=model_path, data_path=data_path, command=Command(command),
                           split=split, input_scale=scale, seed=seed, class_names=names,
                           batch_size=batch_size, skip_bad_rows=skip_bad_rows,
                           trust_model=trust_model, notes=notes, **extra)
    with Reporter(quiet) as reporter:
        outcome = run(options, policy, baseline, reporter, loaded=loaded, dataset=dataset)
    for note in outcome.result.notes[len(notes):]:  # the class-order note was warned above
        warnings.warn(note, stacklevel=3)
    return outcome


def _baseline(value: Any) -> Path | dict[str, Any] | None:
    """A baseline file for the preflight to read, or a summary (a dict, an Audit's), validated."""
    from reportgen.gating.baseline import validate_summary

    if value is None or isinstance(value, str | Path):
        return None if value is None else Path(value)
    if isinstance(value, Audit):
        return validate_summary(value.summary, "baseline Audit")
    if isinstance(value, Mapping):
        return validate_summary(dict(value), "baseline dict")
    raise InputError(f"baseline: expected a summary.json path, a summary dict or an Audit, "
                     f"got {type(value).__name__}")


def _class_order_notes(data: Any, class_names: Sequence[str] | None) -> tuple[str, ...]:
    """Arrays carry no class names: without ``class_names`` the report states the order assumed."""
    if class_names is not None or data is None or isinstance(data, str | Path):
        return ()
    from reportgen.loading.dataset import FER2013_CLASSES

    order = ", ".join(f"{i} {name}" for i, name in enumerate(FER2013_CLASSES))
    note = (f"The labels were given as arrays without class_names, so FER2013's index order was "
            f"assumed: {order}. Pass class_names=[...] in your labels' order if it differs "
            "(alphabetical folder numbering, for one, does).")
    return (note,)


def _given_path(value: Any, default: Path) -> Path | None:
    """The path to check before any work: ``value``'s, the default's when None, else None."""
    if value is None:
        return default
    return Path(value) if isinstance(value, str | Path) else None


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
    """Method names checked without importing TensorFlow: None, [] / ["none"], or names."""
    from reportgen.methods import parse_methods as parse

    return parse(methods)
