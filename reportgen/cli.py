"""The ``reportgen`` command line: ``audit`` (full report) and ``gate`` (fast CI verdict)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reportgen.errors import InputError

if TYPE_CHECKING:
    from reportgen.gating.verdict import Verdict
    from reportgen.progress import Reporter
    from reportgen.result import AuditResult

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_MODEL = PACKAGE_ROOT / "sample_models" / "fer_cnn.keras"
SAMPLE_DATA = PACKAGE_ROOT / "sample_models" / "fer2013_demo.csv.gz"

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Audit reports and CI gates for Keras facial-expression classifiers (FER2013).",
)

ModelOpt = Annotated[Path, typer.Option("--model", help="Keras model: .keras, .h5/.hdf5 or a SavedModel dir.")]
DataOpt = Annotated[Path, typer.Option("--data", help="fer2013.csv(.gz) or an image-folder root.")]
SplitOpt = Annotated[str | None, typer.Option("--split", help="CSV Usage value or split subfolder.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Output directory, created if missing.")]
ScaleOpt = Annotated[str, typer.Option("--input-scale", help="auto | 0-255 | 0-1 | -1-1")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for everything random.")]
PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="TOML gate policy; a failed check exits 1.")]
BaselineOpt = Annotated[Path | None, typer.Option("--baseline", help="A baseline's summary.json.")]
JunitOpt = Annotated[Path | None, typer.Option("--junit", help="Also write the checks as JUnit XML.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="No progress output.")]
ClassesOpt = Annotated[str | None, typer.Option("--class-names", help="Comma-separated class names, in index order.")]
SkipOpt = Annotated[bool, typer.Option("--skip-bad-rows", help="Skip bad CSV rows/images instead of failing.")]
TrustOpt = Annotated[bool, typer.Option("--trust-model", help="Allow models with Lambda/custom layers (runs their code).")]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Images per forward batch.")]
ReferenceOpt = Annotated[Path | None, typer.Option(
    "--reference-model", help="A clean model on the same data, to tell model-specific effects from "
    "the data's ('none': no reference) [the bundled sample model for 7-class 48x48 FER2013].")]


def _fail(message: str) -> None:
    typer.echo(f"reportgen: error: {message}", err=True)


def _warn(message: str) -> None:
    """A problem that does not stop the run; on stderr even with --quiet."""
    typer.echo(f"reportgen: warning: {message}", err=True)


def _parse_classes(text: str | None) -> tuple[str, ...]:
    from reportgen.loading.data import FER2013_CLASSES

    if text is None:
        return FER2013_CLASSES
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if len(names) < 2 or len({n.lower() for n in names}) != len(names):
        raise InputError(f"--class-names: need at least two distinct names, got '{text}'")
    return names


def _parse_methods(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    if text.strip().lower() == "none":
        return ()
    from reportgen.attributions import REGISTRY

    methods = tuple(m.strip().lower() for m in text.split(",") if m.strip())
    unknown = [m for m in methods if m not in REGISTRY]
    if unknown:
        raise InputError(f"--methods: unknown method(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(REGISTRY)} or none")
    return methods


def _check_paths(**paths: Path | None) -> None:
    """Fail fast on missing inputs, before TensorFlow is imported."""
    for option, path in paths.items():
        if path is not None and not Path(path).exists():
            raise InputError(f"{path}: {option.replace('_', '-')} file not found")


def _execute(command: str, out: Path, quiet: bool, policy: Path | None, baseline: Path | None,
             junit: Path | None, options_kwargs: dict[str, Any]) -> int:
    """Run the pipeline, evaluate the policy, render, and write atomically; return the exit code."""
    from reportgen.report.output import prepare_out_dir, remove_if_created_and_empty

    created = False
    # SIGTERM (CI cancellation) ends the run the same clean way as Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        reference = options_kwargs.get("reference_model")
        _check_paths(model=options_kwargs["model_path"], data=options_kwargs["data_path"],
                     policy=policy, baseline=baseline,
                     reference_model=None if str(reference) == "none" else reference)
        _check_junit_path(junit)
        created = prepare_out_dir(out)
        return _run(command, out, quiet, policy, baseline, junit, options_kwargs)
    except InputError as err:
        _fail(str(err))
        remove_if_created_and_empty(out, created)
        return 2
    except KeyboardInterrupt:
        _fail("interrupted; no report was written")
        remove_if_created_and_empty(out, created)
        return 130
    except Exception as err:
        if os.environ.get("REPORTGEN_DEBUG"):
            raise
        _fail(f"unexpected {type(err).__name__}: {err} (set REPORTGEN_DEBUG=1 for the traceback)")
        remove_if_created_and_empty(out, created)
        return 2


def _check_junit_path(junit: Path | None) -> None:
    """Refuse an unusable --junit path before any work, so a finished run never fails on it."""
    if junit is None:
        return
    if junit.is_dir():
        raise InputError(f"{junit}: --junit is a directory; give a file path such as checks.xml")
    try:
        junit.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"{junit}: cannot create the --junit file's folder: {err.strerror}") from None


def _import_tensorflow_quietly() -> None:
    with _native_stderr_silenced():
        import tensorflow as tf
    # Retracing notes (tiny splits give many batch shapes) are for TF developers, not users.
    tf.get_logger().setLevel("ERROR")


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Hide what C++ libraries print on fd 2 while importing TensorFlow (oneDNN and CUDA
    start-up notes that TF_CPP_MIN_LOG_LEVEL no longer silences); Python errors still raise."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _run(command: str, out: Path, quiet: bool, policy_path: Path | None, baseline_path: Path | None,
         junit: Path | None, options_kwargs: dict[str, Any]) -> int:
    from reportgen.gating.verdict import judge, load_gate_inputs
    from reportgen.pipeline import run_audit
    from reportgen.progress import Reporter
    from reportgen.report.output import interrupts_deferred, write_files
    from reportgen.report.summary import build_summary, to_json, with_verdict
    from reportgen.result import AuditOptions, Command

    policy, baseline = load_gate_inputs(policy_path, baseline_path)
    if policy is not None and (skipped := policy.skipped_without_baseline(baseline)):
        _warn(f"{policy.source}: no --baseline given, so the [baseline] checks "
              f"{', '.join(skipped)} are skipped")
    if policy is not None and command == "gate" and (audit_only := policy.skipped_in_gate()):
        _warn(f"{policy.source}: gate computes no attributions, so {', '.join(audit_only)} "
              "are skipped (reportgen audit checks them)")
    options = AuditOptions(command=Command(command), argv=("reportgen", *sys.argv[1:]),
                           **options_kwargs)
    files: dict[str, bytes] = {}
    with Reporter(quiet) as reporter:
        result = run_audit(options, reporter)
        summary = build_summary(result)
        verdict = judge(summary, policy, baseline)
        if options.command is Command.AUDIT:
            from reportgen.report.render import render_html, render_pdf

            with reporter.stage("Rendering HTML and PDF"):
                html = render_html(result, verdict)
                files["report.pdf"] = render_pdf(html)
                files["report.html"] = html.encode("utf-8")
        files["summary.json"] = to_json(with_verdict(summary, verdict, reporter.timings))
    with interrupts_deferred():
        written = write_files(out, files)
        if junit is not None:
            from reportgen.gating.junit import write_junit

            write_junit(verdict.checks, junit, {"model": str(options.model_path),
                                                "sha256": result.model.loaded.sha256})
    return _report_outcome(result, verdict, written, reporter, quiet)


def _report_outcome(result: AuditResult, verdict: Verdict, written: list[Path], reporter: Reporter,
                    quiet: bool) -> int:
    for note in result.notes:
        _warn(note)
    if verdict.checks:
        from reportgen.gating.table import print_checks

        print_checks(verdict.checks, reporter.console)
    for path in written:
        reporter.console.print(f"wrote {path}")
    main = next((p for p in written if p.name == "report.html"), written[-1])
    if quiet:
        print(main)
    else:
        reporter.console.print(f"[bold]Report: {main.resolve()}[/bold]")
    return 0 if verdict.passed else 1


def _common(model: Path, data: Path, split: str | None, input_scale: str, seed: int,
            class_names: str | None, skip_bad_rows: bool, trust_model: bool, batch_size: int) -> dict[str, Any]:
    from reportgen.loading.pixels import InputScale

    try:
        scale = InputScale(input_scale)
    except ValueError:
        raise InputError(f"--input-scale: '{input_scale}' is not one of auto, 0-255, 0-1, -1-1") from None
    return {"model_path": model, "data_path": data, "split": split, "input_scale": scale, "seed": seed,
            "class_names": _parse_classes(class_names), "skip_bad_rows": skip_bad_rows,
            "trust_model": trust_model, "batch_size": batch_size}


@app.command()
def audit(
    model: ModelOpt = SAMPLE_MODEL,
    data: DataOpt = SAMPLE_DATA,
    split: SplitOpt = None,
    out: OutOpt = Path("reportgen-audit"),
    input_scale: ScaleOpt = "auto",
    seed: SeedOpt = 0,
    policy: PolicyOpt = None,
    baseline: BaselineOpt = None,
    junit: JunitOpt = None,
    quiet: QuietOpt = False,
    methods: Annotated[str | None, typer.Option(
        "--methods", help="Comma-separated attribution methods, or none [default set].")] = None,
    cases_per_group: Annotated[int, typer.Option("--cases-per-group", min=0)] = 3,
    borderline_gap: Annotated[float, typer.Option("--borderline-gap", min=0.0, max=1.0)] = 0.10,
    confident_p: Annotated[float, typer.Option("--confident-p", min=0.0, max=1.0)] = 0.80,
    gradcam_layer: Annotated[str | None, typer.Option("--gradcam-layer")] = None,
    class_names: ClassesOpt = None,
    skip_bad_rows: SkipOpt = False,
    trust_model: TrustOpt = False,
    batch_size: BatchOpt = 256,
    reference_model: ReferenceOpt = None,
) -> None:
    """Evaluate, select cases, explain, analyse and write report.html, report.pdf and summary.json."""
    from reportgen.evaluation.select import SelectionRules

    _import_tensorflow_quietly()
    try:
        kwargs = _common(model, data, split, input_scale, seed, class_names, skip_bad_rows,
                         trust_model, batch_size)
        kwargs["reference_model"] = reference_model
        kwargs.update(methods=_parse_methods(methods), gradcam_layer=gradcam_layer,
                      rules=SelectionRules(borderline_gap, confident_p, cases_per_group, seed))
    except InputError as err:
        _fail(str(err))
        raise typer.Exit(2) from None
    raise typer.Exit(_execute("audit", out, quiet, policy, baseline, junit, kwargs))


@app.command()
def gate(
    model: ModelOpt = SAMPLE_MODEL,
    data: DataOpt = SAMPLE_DATA,
    split: SplitOpt = None,
    out: OutOpt = Path("reportgen-gate"),
    input_scale: ScaleOpt = "auto",
    seed: SeedOpt = 0,
    policy: PolicyOpt = None,
    baseline: BaselineOpt = None,
    junit: JunitOpt = None,
    quiet: QuietOpt = False,
    class_names: ClassesOpt = None,
    skip_bad_rows: SkipOpt = False,
    trust_model: TrustOpt = False,
    batch_size: BatchOpt = 256,
    reference_model: ReferenceOpt = None,
) -> None:
    """Evaluate and probe only (no figures) and check the policy: fast, for CI. Writes summary.json."""
    _import_tensorflow_quietly()
    try:
        kwargs = _common(model, data, split, input_scale, seed, class_names, skip_bad_rows,
                         trust_model, batch_size)
        kwargs["reference_model"] = reference_model
    except InputError as err:
        _fail(str(err))
        raise typer.Exit(2) from None
    raise typer.Exit(_execute("gate", out, quiet, policy, baseline, junit, kwargs))


if __name__ == "__main__":
    app()
