"""``reportgen.compare(...)``: several models on the same data, one ``Comparison``.

    import reportgen
    c = reportgen.compare(["a.keras", "b.keras"], "fer2013.csv", split="PublicTest")
    c.summary["recommendation"]["ship"]   # the model to ship, or None
    c.save("compare/")                    # compare.html, compare.pdf, summary.json
    c                                     # in Jupyter: recommendation, findings, metrics

The CLI's ``reportgen compare`` runs the same ``run`` after its own preflight.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.api import _class_order_notes, _data, _given_path, _model
from reportgen.errors import InputError
from reportgen.resources import sample_data

# `import reportgen` stays light (no NumPy stack): the rest is imported when compare is called.
if TYPE_CHECKING:
    import keras
    import numpy as np

    from reportgen.comparison.outcome import Comparison
    from reportgen.comparison.result import CompareOptions
    from reportgen.gating.policy import Policy
    from reportgen.loading.dataset import Dataset
    from reportgen.loading.model import LoadedModel
    from reportgen.loading.pixels import InputScale
    from reportgen.progress import Reporter


def parse_scales(spec: str | Sequence[str], n_models: int) -> tuple[InputScale, ...]:
    """One input scale for every model (``"auto"``: each its own detection), or one per model
    (``"0-255,0-1"`` or a list)."""
    from reportgen.loading.pixels import InputScale

    names = spec.split(",") if isinstance(spec, str) else list(spec)
    names = [n.strip() for n in names]
    if len(names) == 1:
        names *= n_models
    if len(names) != n_models:
        raise InputError(f"--input-scale: give one scale for all models or one per model "
                         f"({n_models}), got {len(names)}")
    try:
        return tuple(InputScale(n) for n in names)
    except ValueError:
        bad = next(n for n in names if n not in {s.value for s in InputScale})
        raise InputError(f"--input-scale: '{bad}' is not one of auto, 0-255, 0-1, -1-1") from None


def run(options: CompareOptions, policy: Policy | None, reporter: Reporter,
        models: Sequence[LoadedModel | None] | None = None, dataset: Dataset | None = None) -> Comparison:
    """Run the comparison and build its summary once: what the CLI and the API share."""
    from reportgen.comparison.outcome import Comparison
    from reportgen.comparison.runner import run_comparison
    from reportgen.comparison.summary import build_compare_summary

    result = run_comparison(options, policy, reporter, models, dataset)
    return Comparison(result, build_compare_summary(result))


def compare(
    models: Sequence[str | Path | keras.Model],
    data: str | Path | tuple[np.ndarray, np.ndarray] | None = None,
    *,
    split: str | None = None,
    seed: int = 0,
    input_scale: str | Sequence[str] = "auto",
    class_names: Sequence[str] | None = None,
    policy: str | Path | dict[str, Any] | Policy | None = None,
    skip_detectors: str | None = None,
    batch_size: int = 256,
    skip_bad_rows: bool = False,
    trust_model: bool = False,
    explain: bool = True,
    quiet: bool = True,
) -> Comparison:
    """Run every model in ``models`` (paths or ``keras.Model``s, at least two, no two alike) on
    ``data`` as ``gate`` does and compare them; nothing is written until ``save``.

    data, split, seed, class_names, policy: as ``reportgen.audit``. input_scale: one for all
    models ("auto": each model's own detection) or one per model. skip_detectors: as the CLI's
    ``--skip-detectors``. explain: saliency maps side by side on a few cases.
    Raises ``InputError`` on bad input (fewer than two models, two with one hash, a bad path).
    """
    from reportgen.bias.switches import parse_switches
    from reportgen.comparison.result import CompareOptions
    from reportgen.evaluation.select import SelectionRules
    from reportgen.loading.dataset import FER2013_CLASSES
    from reportgen.progress import Reporter, import_tensorflow_quietly
    from reportgen.result import AuditOptions, Command

    models = list(models)
    names = tuple(class_names) if class_names is not None else FER2013_CLASSES
    policy_read = _check_inputs(models, data, names, split, policy, seed, trust_model)
    scales, skip = parse_scales(input_scale, len(models)), parse_switches(skip_detectors)
    import_tensorflow_quietly()
    given = [_model(m, trust_model) for m in models]
    dataset, data_path = _data(data, names)
    notes = _class_order_notes(data, class_names)
    for message in notes:
        warnings.warn(message, stacklevel=2)
    base = AuditOptions(model_path=given[0][1], data_path=data_path, command=Command.GATE,
                        split=split, seed=seed, rules=SelectionRules(seed=seed), class_names=names,
                        batch_size=batch_size, skip_bad_rows=skip_bad_rows, trust_model=trust_model,
                        skip=skip, notes=notes)
    options = CompareOptions(base, tuple(path for _, path in given), scales, explain)
    with Reporter(quiet) as reporter:
        return run(options, policy_read, reporter, [loaded for loaded, _ in given], dataset)


def _check_inputs(models: list[Any], data: Any, names: tuple[str, ...], split: str | None,
                  policy: Any, seed: int, trust_model: bool) -> Policy | None:
    """Everything checked before TensorFlow is imported; returns the policy in force."""
    from reportgen.comparison.result import MIN_MODELS
    from reportgen.gating.defaults import choose_policy
    from reportgen.preflight import preflight

    if len(models) < MIN_MODELS:
        raise InputError(f"models: compare needs at least {MIN_MODELS} models, got {len(models)}")
    inputs = preflight(model=None, data=_given_path(data, sample_data()), class_names=names,
                       split=split, policy=choose_policy(policy), seed=seed, trust_model=trust_model)
    for model in models:
        if isinstance(model, str | Path):
            preflight(model=Path(model), data=None, class_names=names, trust_model=trust_model)
    return inputs.policy
