"""What ``reportgen compare`` does once its options are parsed (the command itself, with the
shared options, is in ``reportgen.cli``): check everything, run, write all files or none.

Exit codes: 0 when a model is recommended (one passes the policy), 1 when none passes, 2 on bad
input (fewer than two models, two with one hash, a missing file…), 130 when interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reportgen.comparison.outcome import FILE_NAMES
from reportgen.comparison.result import MIN_MODELS
from reportgen.errors import InputError

Say = Callable[[str], None]


def execute_compare(models: list[Path], out: Path, quiet: bool, policy: str | None,
                    options_kwargs: dict[str, Any], scale_spec: str, formats: tuple[str, ...],
                    fail: Say, warn: Say) -> int:
    """Preflight every model, the data and ``out``; run; write; return the exit code."""
    from reportgen.gating.defaults import choose_policy
    from reportgen.preflight import preflight
    from reportgen.report.output import prepare_out_dir, run_all_or_nothing

    def work(created: list[Path]) -> int:
        if len(models) < MIN_MODELS:
            raise InputError(f"--model: compare needs at least {MIN_MODELS} models, got {len(models)}")
        common = {k: options_kwargs[k] for k in ("class_names", "trust_model", "limits")}
        inputs = preflight(model=None, data=options_kwargs["data_path"], split=options_kwargs["split"],
                           out=out, out_files=tuple(FILE_NAMES[f] for f in formats),
                           policy=choose_policy(policy), seed=options_kwargs["seed"], **common)
        for model in models:
            preflight(model=model, data=None, **common)
        _refuse_same_files(models)
        from reportgen.comparison.entry import parse_scales

        scales = parse_scales(scale_spec, len(models))
        created += prepare_out_dir(out)
        from reportgen.progress import import_tensorflow_quietly

        import_tensorflow_quietly()
        return _run(models, scales, out, quiet, inputs.policy, options_kwargs, formats, warn)

    return run_all_or_nothing(work, fail)


def _refuse_same_files(models: list[Path]) -> None:
    """Two --model paths that are one file (or a copy of it: one sha256) are refused before any
    work; the runner checks the hashes of the loaded models too (the API's in-memory ones)."""
    import hashlib

    seen: dict[str, Path] = {}
    for path in models:
        if Path(path).is_dir():
            continue  # a SavedModel folder: hashed when loaded
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        if digest in seen:
            raise InputError(f"{path}: same file as {seen[digest]} (sha256 {digest[:12]}); "
                             "compare distinct models")
        seen[digest] = path


def _run(models: list[Path], scales: tuple, out: Path, quiet: bool, policy: Any,
         options_kwargs: dict[str, Any], formats: tuple[str, ...], warn: Say) -> int:
    from reportgen.comparison.entry import run
    from reportgen.comparison.result import CompareOptions
    from reportgen.evaluation.select import SelectionRules
    from reportgen.progress import Reporter
    from reportgen.report.output import interrupts_deferred, write_files
    from reportgen.result import AuditOptions, Command

    kwargs = {**options_kwargs, "model_path": models[0], "command": Command.GATE,
              "argv": ("reportgen", *sys.argv[1:]),
              "rules": SelectionRules(seed=options_kwargs["seed"])}
    options = CompareOptions(AuditOptions(**kwargs), tuple(models), scales)
    with Reporter(quiet) as reporter:
        outcome = run(options, policy, reporter)
        files = outcome.files(formats, reporter)
    with interrupts_deferred():
        written = write_files(out, files)
    fed, *others = outcome.result.notes  # how each model was fed: said, not warned
    reporter.console.print(fed)
    for note in others:
        warn(note)
    if policy is None:
        warn("--policy none: no policy was applied, so every model passes")
    for path in written:
        reporter.console.print(f"wrote {path}")
    reporter.console.print(outcome.result.recommendation.text)
    main = next((p for p in written if p.name == FILE_NAMES["html"]), written[-1])
    print(main, flush=True)
    return 0 if outcome.passed else 1
