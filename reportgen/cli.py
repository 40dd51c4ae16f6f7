"""The ``reportgen`` command line: ``audit`` (full report) and ``gate`` (fast CI verdict)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from reportgen.api import FORMATS, check_formats
from reportgen.errors import InputError
from reportgen.policy_commands import policy_app
from reportgen.resources import sample_data, sample_model

if TYPE_CHECKING:
    from reportgen.gating.limits import Check
    from reportgen.gating.verdict import Verdict
    from reportgen.preflight import GateInputs
    from reportgen.progress import Reporter
    from reportgen.result import AuditResult

SAMPLE_MODEL = sample_model()
SAMPLE_DATA = sample_data()

class OneLineErrors(TyperGroup):
    """Usage errors (an unknown option, ``--batch-size 0``) as one ``reportgen: error:`` line
    with exit code 2, like every other error, instead of Click's boxed usage text."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        # typer vendors click as typer._click; its exceptions are only reachable there.
        from typer._click import exceptions

        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except exceptions.NoArgsIsHelpError as err:
            err.show()
            code = err.exit_code
        except InputError as err:  # raised by the small commands (policy init/show)
            _fail(str(err))
            code = 2
        except exceptions.UsageError as err:
            ctx = err.ctx  # named "reportgen" however invoked (python -m, CliRunner's "root")
            command = "reportgen" if ctx is None or ctx.parent is None else f"reportgen {ctx.info_name}"
            _fail(f"{err.format_message()} (see '{command} --help')")
            code = 2
        except exceptions.ClickException as err:
            _fail(err.format_message())
            code = err.exit_code
        except exceptions.Abort:
            _fail("aborted")
            code = 1
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=OneLineErrors,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Audit reports and CI gates for Keras facial-expression classifiers (FER2013).",
)
app.add_typer(policy_app, name="policy")

SAMPLE = "the bundled sample"

ModelOpt = Annotated[Path, typer.Option(
    "--model", metavar="PATH", show_default=f"{SAMPLE} model",
    help="Keras model: .keras, .h5/.hdf5 or a TF SavedModel directory.")]
DataOpt = Annotated[Path, typer.Option(
    "--data", metavar="PATH", show_default=f"{SAMPLE} of FER2013",
    help="FER2013 as the Kaggle CSV (emotion,pixels,Usage; .csv.gz too), a folder of such CSV "
         "shards, a Parquet file or folder of them (image + label columns), a quoted glob of shards "
         "('shards/part-*.parquet'), or an image-folder root.")]
SplitOpt = Annotated[str | None, typer.Option(
    "--split", metavar="NAME",
    help="CSV or Parquet: a Usage value (Training, PublicTest, PrivateTest). Folders: a split "
         "subfolder, or none when the root holds the class folders. Case is ignored.")]
ScaleOpt = Annotated[str, typer.Option(
    "--input-scale", metavar="auto|0-255|0-1|-1-1",
    help="How pixels are scaled before the model; auto picks it from the model's Rescaling "
         "layer or from accuracy on a sample.")]
OutOpt = Annotated[Path, typer.Option(
    "--out", metavar="DIR", help="Output directory, created if missing; only the files written "
                                  "are replaced in it.")]
SeedOpt = Annotated[int, typer.Option("--seed", metavar="INT", help="Seed for everything random.")]
PolicyOpt = Annotated[str | None, typer.Option(
    "--policy", metavar="FILE|default|none",
    show_default="default: the policy shipped with reportgen",
    help="TOML gate policy; a failed check exits 1. 'none' checks nothing ('reportgen policy show' "
         "prints the policy in force).")]
BaselineOpt = Annotated[Path | None, typer.Option(
    "--baseline", metavar="PATH",
    help="A baseline run's summary.json, to compare against and gate on regressions.")]
JunitOpt = Annotated[Path | None, typer.Option(
    "--junit", metavar="FILE", help="Also write the policy checks as JUnit XML.")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", help="No progress output: prints the main output path, and failed checks on stderr.")]
ClassesOpt = Annotated[str | None, typer.Option(
    "--class-names", metavar="LIST", show_default="the 7 FER2013 classes",
    help="Comma-separated class names in index order, when the model is not the FER2013 one.")]
SkipOpt = Annotated[bool, typer.Option(
    "--skip-bad-rows", help="Skip malformed CSV rows and unreadable images (and report how many) "
                            "instead of failing.")]
TrustOpt = Annotated[bool, typer.Option(
    "--trust-model", help="Load models that contain code (Lambda or custom layers) and TF "
                          "SavedModel directories, whose graph runs when loaded; off by default "
                          "(Keras safe mode).")]
BatchOpt = Annotated[int, typer.Option(
    "--batch-size", min=1, metavar="N", help="Images per forward batch.")]
MaxDataOpt = Annotated[int, typer.Option(
    "--max-data-mb", min=1, metavar="N", help="Largest CSV, after decompression, in MiB.")]
MaxRowOpt = Annotated[int, typer.Option("--max-row-kb", min=1, metavar="N",
                                        help="Longest CSV line in kB.")]
MaxPixelsOpt = Annotated[int, typer.Option(
    "--max-image-pixels", min=1, metavar="N",
    help="Largest image file, width × height, checked from its header before decoding.")]
MaxModelOpt = Annotated[int, typer.Option(
    "--max-model-mb", min=1, metavar="N", help="Largest model, unpacked, in MiB.")]
ReferenceOpt = Annotated[Path | None, typer.Option(
    "--reference-model", metavar="PATH",
    show_default="the bundled panel of clean FER2013 models for 7-class FER2013, else none",
    help="A clean model trained on the same data, to tell this model's own shortcuts from effects "
         "that live in the data, instead of the bundled panel; 'none' for neither.")]
SkipDetectorsOpt = Annotated[str | None, typer.Option(
    "--skip-detectors", metavar="LIST",
    help="Switch detectors off, comma-separated: patch-scan, trigger-search, universal-search, or "
         "a probe family or mechanism (e.g. noise, darkening): to check that a shortcut is still "
         "found by the detectors that were not made for its kind.")]
ExecutorOpt = Annotated[str | None, typer.Option(
    "--executor", metavar="NAME", show_default="local, or ray with --ray-address",
    help="Where the model runs over the split: local (this process) or ray (a Ray cluster; "
         "needs the ray extra). Both give the same summary.json.")]
RayAddressOpt = Annotated[str | None, typer.Option(
    "--ray-address", metavar="ADDR", show_default="a local Ray instance",
    help="An existing Ray cluster to run on (implies --executor ray), e.g. HEAD:6379 or auto.")]
ExhaustiveOpt = Annotated[bool, typer.Option(
    "--exhaustive", help="Run every probe and search on every image, as before sequential "
                         "probing; slower, for checking that the fast default decides alike.")]
MlflowOpt = Annotated[bool, typer.Option(
    "--mlflow", help="Also log metrics, checks and the written files to the active MLflow "
                     "tracking URI (needs the mlflow extra).")]


def _show_version(value: bool) -> None:
    if value:
        from reportgen import __version__

        typer.echo(f"reportgen {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    """Audit reports and CI gates for Keras facial-expression classifiers (FER2013)."""


def _fail(message: str) -> None:
    typer.echo(f"reportgen: error: {one_line(message)}", err=True)


def _warn(message: str) -> None:
    """A problem that does not stop the run; on stderr even with --quiet."""
    typer.echo(f"reportgen: warning: {one_line(message)}", err=True)


MAX_LINE = 2000  # characters of one error or warning line; the lists in messages are capped too


def one_line(message: str) -> str:
    """``message`` on one line of at most ``MAX_LINE`` characters: newlines and other control
    characters (in file names, say) written as escapes, so one error is always one line."""
    line = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in message[:MAX_LINE + 1])
    if len(line) > MAX_LINE or len(message) > MAX_LINE:
        return f"{line[:MAX_LINE]}… ({len(message) - MAX_LINE:,} more characters)"
    return line


def _parse_classes(text: str | None) -> tuple[str, ...]:
    from reportgen.loading.data import FER2013_CLASSES

    if text is None:
        return FER2013_CLASSES
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if len(names) < 2 or len({n.lower() for n in names}) != len(names):
        raise InputError(f"--class-names: need at least two distinct names, got '{text}'")
    return names


def _parse_methods(text: str | None) -> tuple[str, ...] | None:
    from reportgen.methods import parse_methods  # the names alone: no TensorFlow

    return None if text is None else parse_methods([m for m in text.split(",") if m.strip()])


def _execute(command: str, out: Path, quiet: bool, policy: str | None, baseline: Path | None,
             junit: Path | None, options_kwargs: dict[str, Any], formats: tuple[str, ...] = FORMATS,
             mlflow: bool = False, as_json: bool = False) -> int:
    """Check everything, then run the pipeline, evaluate the policy, render, and write all
    files or none; return the exit code."""
    from reportgen.gating.defaults import choose_policy
    from reportgen.preflight import preflight
    from reportgen.progress import import_tensorflow_quietly
    from reportgen.report.output import prepare_out_dir, run_all_or_nothing

    def work(created: list[Path]) -> int:
        reference = options_kwargs.get("reference_model")
        if reference is not None and str(reference) != "none" and not Path(reference).exists():
            raise InputError(f"{reference}: reference model not found (--reference-model)")
        inputs = preflight(model=options_kwargs["model_path"], data=options_kwargs["data_path"],
                           class_names=options_kwargs["class_names"],
                           split=options_kwargs["split"], out=out,
                           out_files=_out_files(command, formats),
                           policy=choose_policy(policy), baseline=baseline, junit=junit,
                           trust_model=options_kwargs["trust_model"], seed=options_kwargs["seed"],
                           limits=options_kwargs["limits"])
        if quiet:  # Ray's C++ log lines on stderr (read when Ray starts, if it does)
            os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
        created += prepare_out_dir(out)
        if junit is not None:
            created += prepare_out_dir(junit.parent)
        import_tensorflow_quietly()
        _parse_late(options_kwargs)
        return _run(command, out, quiet, inputs, junit, options_kwargs, formats, mlflow, as_json)

    return run_all_or_nothing(work, _fail)


def _parse_late(options_kwargs: dict[str, Any]) -> None:
    """Turn audit's selection numbers into their type, in place."""
    if "rules" in options_kwargs:
        from reportgen.evaluation.select import SelectionRules

        options_kwargs["rules"] = SelectionRules(*options_kwargs["rules"])


def _out_files(command: str, formats: tuple[str, ...]) -> tuple[str, ...]:
    """The files in --out that this run replaces, checked before any work."""
    names = {"html": "report.html", "pdf": "report.pdf", "json": "summary.json"}
    return tuple(names[f] for f in formats) if command == "audit" else ("summary.json",)


def _run(command: str, out: Path, quiet: bool, inputs: GateInputs, junit: Path | None,
         options_kwargs: dict[str, Any], formats: tuple[str, ...] = FORMATS,
         mlflow: bool = False, as_json: bool = False) -> int:
    """The API's run (``reportgen.api.run``) with the CLI's warnings, progress, files and JUnit."""
    from reportgen.api import policy_warnings, run
    from reportgen.progress import Reporter
    from reportgen.report.output import interrupts_deferred, write_files
    from reportgen.result import AuditOptions, Command

    policy, baseline = inputs.policy, inputs.baseline
    for message in policy_warnings(policy, baseline, command):
        _warn(message)
    options = AuditOptions(command=Command(command), argv=("reportgen", *sys.argv[1:]),
                           **options_kwargs)
    with Reporter(quiet) as reporter:
        outcome = run(options, policy, baseline, reporter)
        files = outcome.files(formats if command == "audit" else ("json",), reporter)
    extra = {}
    if junit is not None:
        from reportgen.gating.junit import junit_xml

        properties = {"model": str(options.model_path), "sha256": outcome.result.model.loaded.sha256,
                      "policy": outcome.verdict.policy_name}
        extra[junit] = junit_xml(outcome.verdict.checks, properties=properties).encode("utf-8")
    with interrupts_deferred():
        written = [p for p in write_files(out, files, extra) if p != junit]
    if mlflow:
        run_id = outcome.log_mlflow(written)
        reporter.console.print(f"logged to MLflow run {run_id}")
    return _report_outcome(outcome.result, outcome.verdict, written, reporter, quiet, as_json)


def _report_outcome(result: AuditResult, verdict: Verdict, written: list[Path], reporter: Reporter,
                    quiet: bool, as_json: bool = False) -> int:
    """People read stderr (notes, checks, what was written); stdout carries the result alone:
    the main output's path, or with ``--json`` the verdict, as one line (docs/CONTRACT.md)."""
    from reportgen.gating.table import print_checks

    for note in result.notes:
        _warn(note)
    if verdict.policy is None:
        _warn("--policy none: no policy was applied, so nothing was checked")
    print_checks(verdict.checks, reporter.console, verdict.policy_name)  # hidden by --quiet
    if quiet and verdict.failed:
        # The table is hidden, but CI still needs to see what failed, one greppable line each.
        for check in verdict.failed:
            typer.echo(f"reportgen: check failed: {failed_line(check)}", err=True)
        typer.echo(f"reportgen: {len(verdict.failed)} of {len(verdict.checks)} checks failed "
                   f"under {one_line(verdict.policy_name)}", err=True)
    for path in written:
        reporter.console.print(f"wrote {path}")
    main = next((p for p in written if p.name == "report.html"), written[-1])
    if as_json:
        import json

        print(json.dumps({**verdict.to_summary(), "summary": str(main)}), flush=True)
    else:
        print(main, flush=True)
    return 0 if verdict.passed else 1


def failed_line(check: Check) -> str:
    """One line for a failed check: name, value against threshold, and the detail."""
    from reportgen.gating.limits import fmt

    detail = f" ({check.detail})" if check.detail else ""
    return f"{check.name}: {fmt(check.value)} vs {fmt(check.threshold)}{detail}"


def _common(model: Path, data: Path, split: str | None, input_scale: str, seed: int,
            class_names: str | None, skip_bad_rows: bool, trust_model: bool, batch_size: int,
            limits: tuple[int, int, int, int], executor: str | None = None,
            ray_address: str | None = None, skip_detectors: str | None = None) -> dict[str, Any]:
    from reportgen.bias.switches import parse_switches
    from reportgen.loading.limits import InputLimits
    from reportgen.loading.pixels import InputScale
    from reportgen.preflight import check_executor, check_seed

    check_seed(seed)
    executor = check_executor(executor, ray_address)

    try:
        scale = InputScale(input_scale)
    except ValueError:
        raise InputError(f"--input-scale: '{input_scale}' is not one of auto, 0-255, 0-1, -1-1") from None
    return {"model_path": model, "data_path": data, "split": split, "input_scale": scale, "seed": seed,
            "class_names": _parse_classes(class_names), "skip_bad_rows": skip_bad_rows,
            "trust_model": trust_model, "batch_size": batch_size, "limits": InputLimits(*limits),
            "executor": executor, "ray_address": ray_address,
            "skip": parse_switches(skip_detectors)}


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
        "--methods", metavar="LIST", show_default="the default set",
        help="Attribution methods, comma-separated (lime, shap, saliency, smoothgrad, "
             "ig, gradcam), or none.")] = None,
    formats: Annotated[str, typer.Option(
        "--formats", metavar="LIST", help="Which files to write, comma-separated: html, pdf, json "
                                          "(leave out pdf to skip WeasyPrint).")] = ",".join(FORMATS),
    cases_per_group: Annotated[int, typer.Option(
        "--cases-per-group", min=0, metavar="N", help="Images shown per case group.")] = 3,
    borderline_gap: Annotated[float, typer.Option(
        "--borderline-gap", min=0.0, max=1.0, metavar="P",
        help="A case is borderline when its top two probabilities differ by less than this.")] = 0.10,
    confident_p: Annotated[float, typer.Option(
        "--confident-p", min=0.0, max=1.0, metavar="P",
        help="A case is confident when its top probability is at least this.")] = 0.80,
    gradcam_layer: Annotated[str | None, typer.Option(
        "--gradcam-layer", metavar="NAME", show_default="the last convolution",
        help="The layer Grad-CAM reads.")] = None,
    class_names: ClassesOpt = None,
    skip_bad_rows: SkipOpt = False,
    trust_model: TrustOpt = False,
    batch_size: BatchOpt = 256,
    max_data_mb: MaxDataOpt = 512,
    max_row_kb: MaxRowOpt = 64,
    max_image_pixels: MaxPixelsOpt = 4096 * 4096,
    max_model_mb: MaxModelOpt = 2048,
    reference_model: ReferenceOpt = None,
    skip_detectors: SkipDetectorsOpt = None,
    executor: ExecutorOpt = None,
    ray_address: RayAddressOpt = None,
    mlflow: MlflowOpt = False,
    exhaustive: ExhaustiveOpt = False,
    pdf_appendix: Annotated[bool, typer.Option(
        "--pdf-appendix", help="Also print the detail sections (case cards, attribution "
                               "galleries, the full probe table, the searches) in report.pdf; "
                               "report.html always has them.")] = False,
) -> None:
    """Evaluate, select cases, explain, analyse and write report.html, report.pdf and summary.json."""
    try:
        kwargs = _common(model, data, split, input_scale, seed, class_names, skip_bad_rows,
                         trust_model, batch_size, (max_data_mb, max_row_kb, max_image_pixels, max_model_mb),
                         executor, ray_address, skip_detectors)
        # The selection rules are built after the preflight: their module imports scikit-learn,
        # which a missing file should not wait for. Method names are checked without TensorFlow.
        kwargs.update(methods=_parse_methods(methods), gradcam_layer=gradcam_layer,
                      reference_model=reference_model, exhaustive=exhaustive,
                      pdf_appendix=pdf_appendix,
                      rules=(borderline_gap, confident_p, cases_per_group, seed))
        chosen = check_formats(formats)
    except InputError as err:
        _fail(str(err))
        raise typer.Exit(2) from None
    raise typer.Exit(_execute("audit", out, quiet, policy, baseline, junit, kwargs, chosen, mlflow))


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
    max_data_mb: MaxDataOpt = 512,
    max_row_kb: MaxRowOpt = 64,
    max_image_pixels: MaxPixelsOpt = 4096 * 4096,
    max_model_mb: MaxModelOpt = 2048,
    reference_model: ReferenceOpt = None,
    skip_detectors: SkipDetectorsOpt = None,
    executor: ExecutorOpt = None,
    ray_address: RayAddressOpt = None,
    mlflow: MlflowOpt = False,
    exhaustive: ExhaustiveOpt = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the verdict on stdout as one JSON line (passed, policy, checks, "
                       "failed, summary path) instead of the summary's path.")] = False,
) -> None:
    """Evaluate and probe only (no figures) and check the policy: fast, for CI. Writes summary.json."""
    try:
        kwargs = _common(model, data, split, input_scale, seed, class_names, skip_bad_rows,
                         trust_model, batch_size, (max_data_mb, max_row_kb, max_image_pixels, max_model_mb),
                         executor, ray_address, skip_detectors)
        kwargs.update(reference_model=reference_model, exhaustive=exhaustive)
    except InputError as err:
        _fail(str(err))
        raise typer.Exit(2) from None
    raise typer.Exit(_execute("gate", out, quiet, policy, baseline, junit, kwargs, ("json",), mlflow,
                              as_json))


ModelsOpt = Annotated[list[Path], typer.Option(
    "--model", metavar="PATH", show_default=False,
    help="A model to compare (.keras, .h5/.hdf5 or a TF SavedModel directory); give it two or "
         "more times. Two models with one sha256 are refused.")]


@app.command()
def compare(
    model: ModelsOpt,
    data: DataOpt = SAMPLE_DATA,
    split: SplitOpt = None,
    out: OutOpt = Path("reportgen-compare"),
    input_scale: Annotated[str, typer.Option(
        "--input-scale", metavar="SCALE[,SCALE…]",
        help="auto (each model's own detection), 0-255, 0-1 or -1-1: one for every model, or "
             "one per --model, comma-separated.")] = "auto",
    seed: SeedOpt = 0,
    policy: PolicyOpt = None,
    quiet: QuietOpt = False,
    formats: Annotated[str, typer.Option(
        "--formats", metavar="LIST", help="Which files to write, comma-separated: html, pdf, json "
                                          "(compare.html, compare.pdf, summary.json).")] = ",".join(FORMATS),
    class_names: ClassesOpt = None,
    skip_bad_rows: SkipOpt = False,
    trust_model: TrustOpt = False,
    batch_size: BatchOpt = 256,
    max_data_mb: MaxDataOpt = 512,
    max_row_kb: MaxRowOpt = 64,
    max_image_pixels: MaxPixelsOpt = 4096 * 4096,
    max_model_mb: MaxModelOpt = 2048,
    skip_detectors: SkipDetectorsOpt = None,
) -> None:
    """Run several models on the same data as gate does and write one comparison report: paired
    tests, disagreements, findings and explanations side by side, and which model to ship.
    Exits 1 when no model passes the policy."""
    from reportgen.comparison.command import execute_compare

    try:
        kwargs = _common(model[0], data, split, "auto", seed, class_names, skip_bad_rows,
                         trust_model, batch_size, (max_data_mb, max_row_kb, max_image_pixels, max_model_mb),
                         skip_detectors=skip_detectors)
        chosen = check_formats(formats)
    except InputError as err:
        _fail(str(err))
        raise typer.Exit(2) from None
    raise typer.Exit(execute_compare(list(model), out, quiet, policy, kwargs, input_scale, chosen,
                                     _fail, _warn))


if __name__ == "__main__":
    app()
